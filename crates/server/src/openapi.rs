//! The OpenAPI 3.1 document of `/api/v1`, built from one table of
//! endpoints and from the same `schemars` schemas the handlers' types and
//! the config model derive, so the document cannot drift from the code.
//! The web UI generates its API types from it.

use std::sync::OnceLock;

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value as Json, json};
use vspread_core::config::config_schema;

use crate::routes::status::Status;

/// One operation of the API.
struct Op {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    /// Component schema name of the JSON request body, if any.
    body: Option<&'static str>,
    /// Status code, description, component schema name of the response.
    responses: &'static [(u16, &'static str, Option<&'static str>)],
    /// Read-only tokens may call it.
    viewer: bool,
}

const ERR: Option<&str> = Some("Error");

const OPS: &[Op] = &[
    Op {
        method: "get",
        path: "/status",
        summary: "Engine state, mode, trading window, config version and last reload error",
        body: None,
        responses: &[(200, "Status", Some("Status"))],
        viewer: true,
    },
    Op {
        method: "get",
        path: "/openapi.json",
        summary: "This document",
        body: None,
        responses: &[(200, "OpenAPI document", None)],
        viewer: true,
    },
    Op {
        method: "get",
        path: "/config",
        summary: "The whole config in force, as JSON; its version in the ETag header",
        body: None,
        responses: &[(200, "Config", Some("Config"))],
        viewer: true,
    },
    Op {
        method: "put",
        path: "/config",
        summary: "Apply a whole config (needs If-Match with the ETag): pause, validate, back up, write atomically, swap, resume",
        body: Some("Config"),
        responses: &[
            (
                200,
                "Applied: timings, backup id and changed keys",
                Some("ApplyReport"),
            ),
            (412, "Stale version", ERR),
            (422, "Invalid: every bad key path, nothing written", ERR),
            (428, "If-Match missing", ERR),
        ],
        viewer: false,
    },
    Op {
        method: "get",
        path: "/config/schema",
        summary: "JSON Schema of the config",
        body: None,
        responses: &[(200, "JSON Schema", None)],
        viewer: true,
    },
    Op {
        method: "post",
        path: "/config/validate",
        summary: "Validate a config without applying it",
        body: Some("Config"),
        responses: &[(200, "Valid", None), (422, "Invalid", ERR)],
        viewer: true,
    },
    Op {
        method: "post",
        path: "/config/diff",
        summary: "Dry run: the keys a config would change",
        body: Some("Config"),
        responses: &[
            (200, "Changed keys", Some("KeyChanges")),
            (422, "Invalid", ERR),
        ],
        viewer: true,
    },
    Op {
        method: "get",
        path: "/config/backups",
        summary: "Config backups, newest first",
        body: None,
        responses: &[(200, "Backups", Some("Backups"))],
        viewer: true,
    },
    Op {
        method: "post",
        path: "/config/rollback",
        summary: "Restore a backup through the apply path",
        body: Some("RollbackRequest"),
        responses: &[
            (200, "Applied", Some("ApplyReport")),
            (404, "No such backup", ERR),
            (422, "The backup is invalid", ERR),
        ],
        viewer: false,
    },
    Op {
        method: "post",
        path: "/control/pause",
        summary: "Pause new scans, signals and orders (in-flight steps finish)",
        body: None,
        responses: &[(200, "Paused", None)],
        viewer: false,
    },
    Op {
        method: "post",
        path: "/control/resume",
        summary: "Resume",
        body: None,
        responses: &[(200, "Running", None)],
        viewer: false,
    },
    Op {
        method: "post",
        path: "/control/kill-switch",
        summary: "Engage or release the kill switch (risk.kill_switch, applied like any config change)",
        body: Some("KillSwitchRequest"),
        responses: &[(200, "Applied", Some("ApplyReport"))],
        viewer: false,
    },
    Op {
        method: "get",
        path: "/events",
        summary: "Event history (?after=seq&limit=n)",
        body: None,
        responses: &[(200, "Events", Some("Events"))],
        viewer: true,
    },
    Op {
        method: "get",
        path: "/ws",
        summary: "WebSocket streaming every event as JSON (?after=seq replays history first; ?access_token= for browsers)",
        body: None,
        responses: &[(101, "Switching protocols", None)],
        viewer: true,
    },
];

fn schema_of<T: JsonSchema>() -> Json {
    let mut v = SchemaSettings::draft2020_12()
        .with(|s| s.inline_subschemas = true)
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value();
    if let Some(o) = v.as_object_mut() {
        o.remove("$schema");
    }
    v
}

fn components() -> Map<String, Json> {
    let mut config = config_schema().clone();
    if let Some(o) = config.as_object_mut() {
        o.remove("$schema");
    }
    let key_change = json!({
        "type": "object",
        "required": ["path", "old", "new"],
        "properties": { "path": { "type": "string" }, "old": {}, "new": {} }
    });
    let mut c = Map::new();
    c.insert("Config".into(), config);
    c.insert("Status".into(), schema_of::<Status>());
    c.insert(
        "KeyChanges".into(),
        json!({ "type": "array", "items": key_change }),
    );
    c.insert(
        "ApplyReport".into(),
        json!({
            "type": "object",
            "properties": {
                "version": { "type": "string", "description": "The new ETag" },
                "generation": { "type": "integer" },
                "backup_id": { "type": ["string", "null"] },
                "changes": { "$ref": "#/components/schemas/KeyChanges" },
                "timings_ms": { "type": "object", "additionalProperties": { "type": "number" } },
                "engine_resumed": { "type": "boolean" }
            }
        }),
    );
    c.insert("Backups".into(), json!({
        "type": "array",
        "items": { "type": "object", "properties": {
            "id": { "type": "string" }, "time": { "type": "string" }, "size": { "type": "integer" } } }
    }));
    c.insert(
        "RollbackRequest".into(),
        json!({
            "type": "object", "required": ["id"], "properties": { "id": { "type": "string" } }
        }),
    );
    c.insert("KillSwitchRequest".into(), json!({
        "type": "object", "required": ["engaged"], "properties": { "engaged": { "type": "boolean" } }
    }));
    c.insert("Events".into(), json!({
        "type": "array",
        "items": { "type": "object", "properties": {
            "seq": { "type": "integer" }, "at": { "type": "string" }, "kind": { "type": "string" },
            "message": { "type": "string" }, "data": {} } }
    }));
    c.insert("Error".into(), json!({
        "type": "object",
        "required": ["error"],
        "properties": { "error": { "type": "object", "required": ["code", "message"], "properties": {
            "code": { "type": "string" },
            "message": { "type": "string" },
            "details": { "description": "For invalid_config: { errors: [{ path, kind, value, message, allowed, location }] }" }
        } } }
    }));
    c
}

/// The document, built once.
pub fn document() -> &'static Json {
    static DOC: OnceLock<Json> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut paths = Map::new();
        for op in OPS {
            let mut responses = Map::new();
            for (code, description, schema) in op.responses {
                let mut r = json!({ "description": description });
                if let Some(name) = schema {
                    r["content"] = json!({ "application/json": { "schema": { "$ref": format!("#/components/schemas/{name}") } } });
                }
                responses.insert(code.to_string(), r);
            }
            responses.insert("401".into(), json!({ "description": "Missing or invalid token" }));
            if !op.viewer {
                responses.insert("403".into(), json!({ "description": "Read-only token" }));
            }
            let mut operation = json!({
                "summary": op.summary,
                "operationId": format!("{}{}", op.method, op.path.replace(['/', '-'], "_")),
                "responses": responses,
            });
            if let Some(body) = op.body {
                operation["requestBody"] = json!({ "required": true, "content": { "application/json": {
                    "schema": { "$ref": format!("#/components/schemas/{body}") } } } });
            }
            let entry = paths
                .entry(op.path.to_string())
                .or_insert_with(|| Json::Object(Map::new()));
            entry[op.method] = operation;
        }
        json!({
            "openapi": "3.1.0",
            "info": { "title": "vspread admin API", "version": env!("CARGO_PKG_VERSION") },
            "servers": [{ "url": "/api/v1" }],
            "security": [{ "bearer": [] }],
            "components": {
                "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
                "schemas": components(),
            },
            "paths": paths,
        })
    })
}
