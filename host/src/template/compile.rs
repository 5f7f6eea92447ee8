//! From YAML text to a [`Template`]: parsing with locations, then the checks
//! that the YAML shape alone cannot express.

use std::collections::HashMap;

use serde_saphyr::{Location, Spanned};

use super::model::{AttributeDef, EntityDef, RelationshipDef, TemplateFile};
use super::{
    Attribute, CompiledPath, Entity, Problem, Relationship, RelationshipKind, Template, TypeGroup,
};

/// How deep child entities may nest under a top-level entity.
pub(crate) const MAX_NESTING: usize = 8;

/// The attribute that holds the subject when `subjectAttribute` is not set.
const DEFAULT_SUBJECT: &str = "subject";

pub(super) fn compile(text: &str) -> Result<Template, Vec<Problem>> {
    let file: TemplateFile = crate::yaml::parse(text).map_err(|p| vec![p])?;
    let mut checker = Checker::default();
    let template = checker.template(file);
    if checker.problems.is_empty() {
        Ok(template)
    } else {
        checker.problems.sort_by_key(|p| (p.line, p.column));
        Err(checker.problems)
    }
}

#[derive(Default)]
struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    fn problem(&mut self, at: &Location, key: &str, why: impl std::fmt::Display) {
        self.problems.push(Problem::key(at, key, why));
    }

    fn path(&mut self, key: &str, text: &Spanned<String>) -> CompiledPath {
        CompiledPath::compile(&text.value).unwrap_or_else(|e| {
            self.problem(
                &text.referenced,
                key,
                format!("invalid JSONPath `{}`: {e}", text.value),
            );
            CompiledPath::compile("$").expect("the root path parses")
        })
    }

    fn template(&mut self, file: TemplateFile) -> Template {
        if let Some(method) = &file.delivery_method
            && method.value != "eventPush"
        {
            self.problem(
                &method.referenced,
                "deliveryMethod",
                format!("`{}` is not supported; use `eventPush`", method.value),
            );
        }
        let events_path = self.path("pushEventsPath", &file.push_events_path);
        let subject_attribute = file
            .subject_attribute
            .as_ref()
            .map_or(DEFAULT_SUBJECT, |s| s.value.as_str())
            .to_owned();

        if file.entities.value.is_empty() {
            self.problem(
                &file.entities.referenced,
                "entities",
                "a template needs at least one entity",
            );
        }
        let mut entities: Vec<Entity> = file
            .entities
            .value
            .iter()
            .map(|(name, def)| self.entity(name, def, &subject_attribute))
            .collect();
        self.resolve_parents(&file, &mut entities);
        self.require_subjects(&file, &entities, &subject_attribute);
        let type_groups = self.type_groups(&file, &entities);
        let relationships = file
            .relationships
            .iter()
            .map(|(name, def)| self.relationship(name, def, &file.relationships, &entities))
            .collect();

        let shape = super::extract::payload_shape(&events_path, &entities, &type_groups);
        Template {
            display_name: file.display_name,
            events_path,
            entities,
            type_groups,
            relationships,
            shape,
        }
    }

    fn entity(&mut self, name: &str, def: &Spanned<EntityDef>, subject: &str) -> Entity {
        let key = format!("entities.{name}");
        let push_path = self.path(
            &format!("{key}.pushExternalId"),
            &def.value.push_external_id,
        );
        let attributes_def = &def.value.attributes;
        let mut attributes = Vec::new();
        let mut unique = None;
        for (i, attribute) in attributes_def.value.iter().enumerate() {
            let attr_key = format!("{key}.attributes[{i}]");
            if attributes
                .iter()
                .any(|a: &Attribute| a.name == attribute.value.name.value)
            {
                self.problem(
                    &attribute.value.name.referenced,
                    &format!("{attr_key}.name"),
                    format!(
                        "attribute `{}` is declared twice in entity `{name}`",
                        attribute.value.name.value
                    ),
                );
            }
            if attribute.value.unique_id {
                self.unique_attribute(&attr_key, name, attribute, unique.is_some());
                unique.get_or_insert(attributes.len());
            }
            if attribute.value.name.value == subject && attribute.value.list {
                self.problem(
                    &attribute.referenced,
                    &attr_key,
                    format!("the subject attribute `{subject}` cannot be a list"),
                );
            }
            attributes.push(self.attribute(&attr_key, &attribute.value));
        }
        if unique.is_none() {
            self.problem(
                &attributes_def.referenced,
                &format!("{key}.attributes"),
                format!("entity `{name}` has no attribute with `uniqueId: true`"),
            );
        }
        Entity {
            name: name.to_owned(),
            external_id: def.value.external_id.value.clone(),
            push_path,
            parent: None,
            children: Vec::new(),
            subject: attributes.iter().position(|a| a.name == subject),
            attributes,
            unique: unique.unwrap_or(0),
        }
    }

    fn unique_attribute(
        &mut self,
        key: &str,
        entity: &str,
        attribute: &Spanned<AttributeDef>,
        already_have_one: bool,
    ) {
        if already_have_one {
            self.problem(
                &attribute.referenced,
                &format!("{key}.uniqueId"),
                format!("entity `{entity}` already has a `uniqueId` attribute"),
            );
        }
        if attribute.value.list {
            self.problem(
                &attribute.referenced,
                &format!("{key}.list"),
                "a `uniqueId` attribute cannot be a list",
            );
        }
    }

    fn attribute(&mut self, key: &str, def: &AttributeDef) -> Attribute {
        Attribute {
            name: def.name.value.clone(),
            path: self.path(&format!("{key}.externalId"), &def.external_id),
            attr_type: def.attr_type.value,
            indexed: def.indexed,
            list: def.list,
        }
    }

    /// Resolves each `parent` by entity name, or else by a top-level entity's
    /// `externalId` (the seed's templates use that form), and refuses cycles.
    fn resolve_parents(&mut self, file: &TemplateFile, entities: &mut [Entity]) {
        let defs: Vec<_> = file.entities.value.values().collect();
        for (i, def) in defs.iter().enumerate() {
            let Some(parent) = &def.value.parent else {
                continue;
            };
            let by_name = entities.iter().position(|e| e.name == parent.value);
            let by_type = || {
                entities.iter().enumerate().position(|(j, e)| {
                    defs[j].value.parent.is_none() && e.external_id == parent.value
                })
            };
            match by_name.or_else(by_type) {
                Some(p) if p == i => self.problem(
                    &parent.referenced,
                    &format!("entities.{}.parent", entities[i].name),
                    "an entity cannot be its own parent",
                ),
                Some(p) => entities[i].parent = Some(p),
                None => self.problem(
                    &parent.referenced,
                    &format!("entities.{}.parent", entities[i].name),
                    format!(
                        "`{}` names no entity (by name or `externalId`)",
                        parent.value
                    ),
                ),
            }
        }
        for i in 0..entities.len() {
            if self.in_cycle(entities, i) {
                let at = defs[i].value.parent.as_ref().map(|p| p.referenced);
                self.problem(
                    &at.unwrap_or(defs[i].referenced),
                    &format!("entities.{}.parent", entities[i].name),
                    "parents form a cycle",
                );
                entities[i].parent = None;
            }
        }
        for i in 0..entities.len() {
            if let Some(p) = entities[i].parent {
                entities[p].children.push(i);
            }
        }
        for (i, def) in defs.iter().enumerate() {
            let mut depth = 0;
            let mut current = entities[i].parent;
            while let Some(p) = current {
                depth += 1;
                current = entities[p].parent;
            }
            if depth > MAX_NESTING {
                let at = def
                    .value
                    .parent
                    .as_ref()
                    .map_or(def.referenced, |p| p.referenced);
                self.problem(
                    &at,
                    &format!("entities.{}.parent", entities[i].name),
                    format!("children nest {depth} levels deep, more than {MAX_NESTING}"),
                );
                entities[i].parent = None;
            }
        }
    }

    fn in_cycle(&self, entities: &[Entity], start: usize) -> bool {
        let mut current = entities[start].parent;
        for _ in 0..entities.len() {
            match current {
                Some(p) if p == start => return true,
                Some(p) => current = entities[p].parent,
                None => return false,
            }
        }
        false
    }

    fn require_subjects(&mut self, file: &TemplateFile, entities: &[Entity], subject: &str) {
        for (entity, def) in entities.iter().zip(file.entities.value.values()) {
            if def.value.parent.is_none() && entity.subject.is_none() {
                self.problem(
                    &def.value.attributes.referenced,
                    &format!("entities.{}.attributes", entity.name),
                    format!(
                        "entity `{}` has no subject attribute `{subject}`",
                        entity.name
                    ),
                );
            }
        }
    }

    /// Groups top-level entities by the text of their `pushExternalId`, so each
    /// distinct path is evaluated once per event, and refuses a type claimed twice.
    fn type_groups(&mut self, file: &TemplateFile, entities: &[Entity]) -> Vec<TypeGroup> {
        let mut groups: Vec<TypeGroup> = Vec::new();
        let defs: Vec<_> = file.entities.value.values().collect();
        for (i, entity) in entities.iter().enumerate() {
            if defs[i].value.parent.is_some() {
                continue;
            }
            let group = match groups
                .iter_mut()
                .position(|g| g.path.as_str() == entity.push_path.as_str())
            {
                Some(g) => &mut groups[g],
                None => {
                    groups.push(TypeGroup {
                        path: entity.push_path.clone(),
                        by_type: HashMap::new(),
                    });
                    groups.last_mut().expect("just pushed")
                }
            };
            if let Some(&other) = group.by_type.get(&entity.external_id) {
                self.problem(
                    &defs[i].value.external_id.referenced,
                    &format!("entities.{}.externalId", entity.name),
                    format!(
                        "type `{}` is already matched by entity `{}`",
                        entity.external_id, entities[other].name
                    ),
                );
            } else {
                group.by_type.insert(entity.external_id.clone(), i);
            }
        }
        groups
    }

    fn relationship(
        &mut self,
        name: &str,
        def: &Spanned<RelationshipDef>,
        all: &indexmap::IndexMap<String, Spanned<RelationshipDef>>,
        entities: &[Entity],
    ) -> Relationship {
        let key = format!("relationships.{name}");
        let name = def.value.name.clone().unwrap_or_else(|| name.to_owned());
        let kind = match (
            &def.value.from_attribute,
            &def.value.to_attribute,
            &def.value.path,
        ) {
            (Some(from), Some(to), None) => RelationshipKind::Attributes {
                from: self.entity_attribute(&format!("{key}.fromAttribute"), from, entities),
                to: self.entity_attribute(&format!("{key}.toAttribute"), to, entities),
            },
            (None, None, Some(steps)) if !steps.is_empty() => {
                RelationshipKind::Path(self.path_steps(&key, steps, all))
            }
            _ => {
                self.problem(
                    &def.referenced,
                    &key,
                    "give either `fromAttribute` and `toAttribute`, or a non-empty `path`",
                );
                RelationshipKind::Path(Vec::new())
            }
        };
        Relationship { name, kind }
    }

    fn entity_attribute(
        &mut self,
        key: &str,
        text: &Spanned<String>,
        entities: &[Entity],
    ) -> (String, String) {
        let Some((entity, attribute)) = text.value.split_once('.') else {
            self.problem(
                &text.referenced,
                key,
                format!("`{}` is not of the form `Entity.attribute`", text.value),
            );
            return Default::default();
        };
        match entities.iter().find(|e| e.name == entity) {
            None => self.problem(
                &text.referenced,
                key,
                format!("entity `{entity}` does not exist"),
            ),
            Some(e) if !e.attributes.iter().any(|a| a.name == attribute) => self.problem(
                &text.referenced,
                key,
                format!("entity `{entity}` has no attribute `{attribute}`"),
            ),
            Some(_) => {}
        }
        (entity.to_owned(), attribute.to_owned())
    }

    fn path_steps(
        &mut self,
        key: &str,
        steps: &[Spanned<super::model::PathStepDef>],
        all: &indexmap::IndexMap<String, Spanned<RelationshipDef>>,
    ) -> Vec<(String, super::model::Direction)> {
        steps
            .iter()
            .enumerate()
            .map(|(i, step)| {
                let target = &step.value.relationship;
                let known = all.iter().any(|(k, r)| {
                    *k == target.value || r.value.name.as_ref() == Some(&target.value)
                });
                if !known {
                    self.problem(
                        &target.referenced,
                        &format!("{key}.path[{i}].relationship"),
                        format!("relationship `{}` does not exist", target.value),
                    );
                }
                let direction = step
                    .value
                    .direction
                    .unwrap_or(super::model::Direction::Forward);
                (target.value.clone(), direction)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"displayName: Test
description: a template
type: EventStreams-1.0.0
deliveryMethod: eventPush
pushType: Custom
pushEventsPath: $.data.events[*]
adapterConfig: {anything: 1}
icon: data
entities:
  Login:
    displayName: Login
    externalId: user.login
    pushExternalId: $.eventType
    pageSize: 100
    pagesOrderedById: false
    attributes:
      - name: id
        externalId: $.uuid
        type: String
        uniqueId: true
      - name: subject
        externalId: $.actor.alternateId
        type: String
        indexed: true
      - name: tags
        externalId: $.tags[*]
        type: String
        list: true
      - name: took
        externalId: $.took
        type: Duration
  Target:
    parent: user.login
    externalId: $.target
    pushExternalId: $.target
    attributes:
      - name: id
        externalId: $.id
        type: String
        uniqueId: true
relationships:
  LoginTarget:
    fromAttribute: Login.id
    toAttribute: Target.id
  Chain:
    path:
      - relationship: LoginTarget
        direction: Direction_Forward
"#;

    fn problems(text: &str) -> Vec<String> {
        match compile(text) {
            Ok(_) => Vec::new(),
            Err(problems) => problems.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn accepts_every_field_of_the_family() {
        let template = compile(GOOD).expect("valid");
        assert_eq!(template.entities.len(), 2);
        assert_eq!(template.entities[1].parent, Some(0));
        assert_eq!(template.entities[0].children, vec![1]);
        assert_eq!(template.relationships.len(), 2);
        assert_eq!(
            template.relationships[0].kind,
            RelationshipKind::Attributes {
                from: ("Login".into(), "id".into()),
                to: ("Target".into(), "id".into()),
            }
        );
    }

    #[test]
    fn accepts_the_seed_template() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/reference/okta-user-lifecycle-deactivate.yaml"
        );
        let Ok(text) = std::fs::read_to_string(path) else {
            // The shared folder sits beside the repository; a lone clone has no copy.
            return;
        };
        let template = compile(&text).expect("the seed's template is valid");
        assert_eq!(template.entities[1].parent, Some(0));
    }

    #[test]
    fn names_an_unknown_key_with_its_place() {
        let text = GOOD.replace(
            "    pageSize: 100\n",
            "    pageSize: 100\n    colour: red\n",
        );
        let found = problems(&text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("15:5: `entities.Login.colour`: unknown field `colour`"),
            "{found:?}"
        );
    }

    #[test]
    fn names_an_unknown_top_level_key() {
        let found = problems(&format!("pushEventPath: $.x\n{GOOD}"));
        assert!(
            found[0].starts_with("1:1: `pushEventPath`: unknown field `pushEventPath`"),
            "{found:?}"
        );
    }

    #[test]
    fn names_an_unknown_attribute_type() {
        let text = GOOD.replace("type: Duration", "type: Interval");
        let found = problems(&text);
        assert!(
            found[0].starts_with(
                "31:15: `entities.Login.attributes[3].type`: unknown variant `Interval`"
            ),
            "{found:?}"
        );
    }

    #[test]
    fn names_a_value_of_the_wrong_kind() {
        let text = GOOD.replace(
            "uniqueId: true\n      - name: subject",
            "uniqueId: maybe\n      - name: subject",
        );
        let found = problems(&text);
        assert_eq!(
            found,
            vec!["20:19: `entities.Login.attributes[0].uniqueId`: invalid boolean"]
        );
    }

    #[test]
    fn names_an_unparsable_jsonpath() {
        let text = GOOD.replace("externalId: $.actor.alternateId", "externalId: $.actor[");
        let found = problems(&text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with(
                "22:21: `entities.Login.attributes[1].externalId`: invalid JSONPath `$.actor[`"
            ),
            "{found:?}"
        );
    }

    #[test]
    fn requires_a_unique_id_attribute() {
        let text = GOOD.replace(
            "        uniqueId: true\n      - name: subject",
            "      - name: subject",
        );
        let found = problems(&text);
        assert_eq!(
            found,
            vec![
                "17:7: `entities.Login.attributes`: entity `Login` has no attribute with `uniqueId: true`"
            ]
        );
    }

    #[test]
    fn refuses_a_parent_that_names_no_entity() {
        let text = GOOD.replace("parent: user.login", "parent: user.logon");
        let found = problems(&text);
        assert_eq!(
            found,
            vec![
                "33:13: `entities.Target.parent`: `user.logon` names no entity (by name or `externalId`)"
            ]
        );
    }

    #[test]
    fn accepts_a_parent_named_by_entity_name() {
        let template = compile(&GOOD.replace("parent: user.login", "parent: Login")).unwrap();
        assert_eq!(template.entities[1].parent, Some(0));
    }

    #[test]
    fn requires_a_subject_on_top_level_entities() {
        let text = GOOD.replace("name: subject", "name: who");
        let found = problems(&text);
        assert_eq!(
            found,
            vec![
                "17:7: `entities.Login.attributes`: entity `Login` has no subject attribute `subject`"
            ]
        );
        let renamed = format!("subjectAttribute: who\n{text}");
        assert!(problems(&renamed).is_empty());
    }

    #[test]
    fn refuses_relationships_to_unknown_entities_and_attributes() {
        let text = GOOD
            .replace("fromAttribute: Login.id", "fromAttribute: Logout.id")
            .replace("toAttribute: Target.id", "toAttribute: Target.name")
            .replace("relationship: LoginTarget", "relationship: Nowhere");
        let found = problems(&text);
        assert_eq!(
            found,
            vec![
                "43:20: `relationships.LoginTarget.fromAttribute`: entity `Logout` does not exist",
                "44:18: `relationships.LoginTarget.toAttribute`: entity `Target` has no attribute `name`",
                "47:23: `relationships.Chain.path[0].relationship`: relationship `Nowhere` does not exist",
            ]
        );
    }

    #[test]
    fn refuses_a_type_claimed_by_two_entities() {
        let text = GOOD.replace("  Target:\n    parent: user.login\n", "  Again:\n    externalId: user.login\n    pushExternalId: $.eventType\n    attributes:\n      - {name: id, externalId: $.id, type: String, uniqueId: true}\n      - {name: subject, externalId: $.s, type: String}\n  Target:\n    parent: user.login\n");
        let found = problems(&text);
        assert!(
            found[0].contains("`entities.Again.externalId`: type `user.login` is already matched by entity `Login`"),
            "{found:?}"
        );
    }

    #[test]
    fn reports_every_problem_at_once_in_file_order() {
        let text = GOOD
            .replace("externalId: $.uuid", "externalId: $.[")
            .replace("parent: user.login", "parent: nobody");
        let found = problems(&text);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(
            found[0],
            "18:21: `entities.Login.attributes[0].externalId`: invalid JSONPath `$.[`: \
             at character 3: expected wildcard_selector or ALPHA"
        );
        assert!(found[1].starts_with("33:13:"), "{found:?}");
    }

    #[test]
    fn refuses_children_nested_deeper_than_the_limit() {
        let mut text = String::from(
            "pushEventsPath: $[*]\nentities:\n  E0:\n    externalId: e\n    pushExternalId: $.t\n    attributes:\n      - {name: id, externalId: $.id, type: String, uniqueId: true}\n      - {name: subject, externalId: $.s, type: String}\n",
        );
        for level in 1..=MAX_NESTING + 1 {
            text += &format!(
                "  E{level}:\n    parent: E{}\n    externalId: $.c\n    pushExternalId: $.c\n    attributes:\n      - {{name: id, externalId: $.id, type: String, uniqueId: true}}\n",
                level - 1
            );
        }
        let found = problems(&text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains("`entities.E9.parent`: children nest 9 levels deep, more than 8"),
            "{found:?}"
        );
    }

    #[test]
    fn reports_broken_yaml_with_its_place() {
        let found = problems("pushEventsPath: [unclosed\n");
        assert_eq!(found.len(), 1);
        assert!(found[0].starts_with("1:17:"), "{found:?}");
    }
}
