//! Crash safety: the server is killed with SIGKILL several times while
//! pushers send numbered events; every event answered 202 is in the graph
//! exactly once afterwards, and each restart needs no repair.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::util::{LOGINS, Server, Source, client, events, login, push_path};

const PUSHERS: usize = 4;
const KILLS: usize = 4;

#[test]
fn every_event_answered_202_survives_repeated_sigkill_under_load() {
    let mut server = Server::start(vec![Source::template("app", LOGINS)]);
    let token = server.token("app");
    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    let mut sent = 0;

    for round in 0..=KILLS {
        let stop = Arc::new(AtomicBool::new(false));
        let pushers: Vec<_> = (0..PUSHERS)
            .map(|pusher| {
                let (url, token) = (server.url(&push_path("app")), token.clone());
                let (stop, acknowledged) = (stop.clone(), acknowledged.clone());
                std::thread::spawn(move || {
                    let client = client();
                    let mut pushed = 0;
                    // Until the server dies under it, or the round ends.
                    while !stop.load(Ordering::Relaxed) {
                        // Batches of one to three events, so that a kill can
                        // also land inside a multi-event commit.
                        let ids: Vec<String> = (0..=pushed % 3)
                            .map(|k| format!("r{round}-p{pusher}-n{pushed}-{k}"))
                            .collect();
                        pushed += 1;
                        let body = events(ids.iter().map(|id| login("login", id, "ann")).collect());
                        let answer = client
                            .post(&url)
                            .bearer_auth(&token)
                            .header("content-type", "application/json")
                            .body(body.to_string())
                            .send();
                        match answer {
                            Ok(reply) if reply.status() == 202 => {
                                acknowledged.lock().unwrap().extend(ids);
                            }
                            Ok(reply) => panic!("unexpected answer {}", reply.status()),
                            Err(_) => break,
                        }
                    }
                    pushed
                })
            })
            .collect();
        // Let load build up, then kill at a point that moves round to round.
        std::thread::sleep(Duration::from_millis(300 + 170 * round as u64));
        if round < KILLS {
            server = server.kill_and_restart();
        }
        stop.store(true, Ordering::Relaxed);
        sent += pushers
            .into_iter()
            .map(|p| p.join().expect("a pusher panicked"))
            .sum::<usize>();
    }

    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 100,
        "too few events acknowledged ({}) of {sent} requests to judge",
        acknowledged.len()
    );
    let db = rusqlite::Connection::open_with_flags(
        server.dir().join("eventpush.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("the database opens");
    let mut stored = std::collections::BTreeMap::<String, i64>::new();
    let mut rows = db
        .prepare("SELECT unique_id, COUNT(*) FROM nodes WHERE subject = 'ann' GROUP BY unique_id")
        .expect("the query prepares");
    for row in rows
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .expect("the query runs")
    {
        let (id, count) = row.expect("a row");
        stored.insert(id, count);
    }
    let lost: Vec<_> = acknowledged
        .iter()
        .filter(|id| !stored.contains_key(*id))
        .collect();
    assert!(
        lost.is_empty(),
        "{} events answered 202 are gone: {lost:?}",
        lost.len()
    );
    // A request cut off by a kill after its commit is stored unanswered, and
    // its log entry with it: the log counts each stored event accepted once.
    let accepted: i64 = db
        .query_row(
            "SELECT SUM(accepted) FROM request_log WHERE datasource = 'app'",
            [],
            |r| r.get(0),
        )
        .expect("the sum runs");
    assert_eq!(accepted, stored.len() as i64, "log and graph disagree");

    // The last restart serves as the first did: reads and new pushes work.
    assert_eq!(server.get_admin("/api/v1/datasources/app/logs").status, 200);
    let reply = server.push_json("app", &token, &events(vec![login("login", "after", "ann")]));
    assert_eq!(reply.status, 202, "{reply:?}");
}

#[test]
fn a_log_replaced_under_the_server_stops_writes_and_readiness_until_a_restart() {
    let server = Server::start(vec![Source::template("app", LOGINS)]);
    let token = server.token("app");
    let push = |id: &str| server.push_json("app", &token, &events(vec![login("login", id, "ann")]));
    assert_eq!(push("before").status, 202);

    // The log deleted by hand, and another file put at its path.
    let wal = server.dir().join("eventpush.db-wal");
    std::fs::remove_file(&wal).expect("the log exists");
    std::fs::write(&wal, b"").expect("a file can take its place");

    for id in ["after-1", "after-2"] {
        let reply = push(id);
        assert_eq!(reply.status, 500, "{reply:?}");
    }
    let ready = server.send(server.get("/readyz"));
    assert_eq!(ready.status, 503, "{ready:?}");
    assert!(ready.text.contains("restarts"), "{}", ready.text);
    let log = server.log_text();
    assert!(log.contains("removed or replaced"), "{log}");

    // The token, too, was in the log that went; a new one is needed.
    let server = server.kill_and_restart();
    assert_eq!(server.send(server.get("/readyz")).status, 200);
    let token = server.token("app");
    let reply = server.push_json(
        "app",
        &token,
        &events(vec![login("login", "restarted", "ann")]),
    );
    assert_eq!(reply.status, 202, "{reply:?}");
}
