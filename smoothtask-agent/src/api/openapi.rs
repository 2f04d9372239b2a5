//! `GET /api/openapi.json`: the OpenAPI 3.1 document of every route, written by hand next to
//! the router (a test requests every path it lists and checks none answers 404 or 405).

use axum::{Json, extract::State};
use serde_json::{Value, json};

use super::Ctx;

pub(crate) async fn serve(State(_ctx): State<Ctx>) -> Json<Value> {
    Json(document())
}

fn query(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema})
}

fn error_ref() -> Value {
    json!({"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

fn ok_json(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

fn get(summary: &str, parameters: Value, ok: Value) -> Value {
    json!({"get": {
        "summary": summary,
        "parameters": parameters,
        "responses": {"200": ok, "400": error_ref(), "401": error_ref()}
    }})
}

/// The document.
pub fn document() -> Value {
    let nullable_u64 = json!({"type": ["integer", "null"], "minimum": 0});
    let metrics = json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["memory_limit_bytes", "memory_usage_bytes", "cpu_shares", "cpu_quota", "cpu_period", "network_interfaces"],
        "properties": {
            "memory_limit_bytes": nullable_u64,
            "memory_usage_bytes": nullable_u64,
            "cpu_shares": nullable_u64,
            "cpu_quota": {"type": ["integer", "null"], "description": "CFS quota in microseconds per period; null when unlimited or unknown"},
            "cpu_period": nullable_u64,
            "network_interfaces": {"type": "array", "items": {"type": "string"}}
        }
    });
    let container_info = json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["runtime", "container_id", "is_containerized", "cgroup_path", "metrics"],
        "properties": {
            "runtime": {"type": "string", "description": "lowercase: docker, podman, containerd, cri-o, lxc, systemd-nspawn, none, or an unknown runtime's label"},
            "container_id": {"type": ["string", "null"]},
            "is_containerized": {"type": "boolean"},
            "cgroup_path": {"type": ["string", "null"]},
            "metrics": {"$ref": "#/components/schemas/SeedMetrics"}
        }
    });
    let container = json!({
        "type": "object",
        "description": "The `smoothtaskd containers --json` listing plus key, cgroups per hierarchy and first_seen; metrics is the full ContainerMetrics",
        "required": ["key", "runtime", "id", "name", "cgroup_path", "pod", "pids", "metrics", "cgroups", "first_seen"],
        "properties": {
            "key": {"type": "string", "description": "<runtime>/<id>"},
            "runtime": {"type": "string"},
            "id": {"type": "string"},
            "name": {"type": ["string", "null"]},
            "cgroup_path": {"type": ["string", "null"]},
            "pod": {"type": ["object", "null"], "properties": {"uid": {"type": "string"}, "qos": {"type": "string"}}},
            "pids": {"type": "array", "items": {"type": "integer"}},
            "metrics": {"type": "object"},
            "cgroups": {"type": "object"},
            "first_seen": {"type": "string", "format": "date-time"}
        }
    });
    let event = json!({
        "type": "object",
        "description": "One event (schema 1, see ARCHITECTURE.md); kind-specific fields follow these",
        "required": ["schema", "id", "time", "mono_ns", "source", "kind"],
        "properties": {
            "schema": {"type": "integer"},
            "id": {"type": "integer"},
            "time": {"type": "string", "format": "date-time"},
            "mono_ns": {"type": "integer"},
            "source": {"type": "string", "enum": ["ebpf", "agent", "rescan"]},
            "kind": {"type": "string"}
        }
    });
    let error = json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["error", "message"],
        "properties": {"error": {"type": "string"}, "message": {"type": "string"}}
    });
    let policy = json!({
        "type": "object",
        "required": ["mode", "classes"],
        "properties": {"mode": {"type": "string", "enum": ["observe", "enforce"]}, "classes": {}}
    });
    let container_param =
        "A container id, a prefix of one, or <runtime>/<id> (letters, digits, ._:@+=-)";
    let mut paths = serde_json::Map::new();
    let mut add = |path: &str, item: Value| {
        paths.insert(path.to_string(), item);
    };
    add(
        "/api/container/info",
        get(
            "The agent's own container",
            json!([]),
            ok_json(
                "Container info",
                json!({"$ref": "#/components/schemas/ContainerInfo"}),
            ),
        ),
    );
    add(
        "/api/container/metrics",
        get(
            "The agent's own container metrics",
            json!([]),
            ok_json(
                "Metrics",
                json!({"$ref": "#/components/schemas/SeedMetrics"}),
            ),
        ),
    );
    add(
        "/api/containers",
        get(
            "Containers on this host with their metrics",
            json!([
                query(
                    "runtime",
                    "Only this runtime (docker, podman, containerd, cri-o, lxc, systemd-nspawn)",
                    json!({"type": "string"})
                ),
                query(
                    "name",
                    "Shell glob over the container's name (its id when it has none)",
                    json!({"type": "string"})
                ),
                query(
                    "pod",
                    "Only containers of this Kubernetes pod uid",
                    json!({"type": "string"})
                )
            ]),
            ok_json(
                "Containers",
                json!({"type": "array", "items": {"$ref": "#/components/schemas/Container"}}),
            ),
        ),
    );
    let mut one = get(
        "One container with its recent events",
        json!([
            {"name": "id", "in": "path", "required": true, "description": container_param, "schema": {"type": "string"}},
            query("events", "How many recent events to include (default 100)", json!({"type": "integer", "minimum": 0}))
        ]),
        ok_json(
            "The container and its events, oldest first",
            json!({"allOf": [{"$ref": "#/components/schemas/Container"}, {"type": "object", "properties": {"events": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}}}}]}),
        ),
    );
    one["get"]["responses"]["404"] = error_ref();
    add("/api/containers/{id}", one);
    add(
        "/api/events",
        get(
            "The event stream: history after `since`, then live",
            json!([
                query(
                    "format",
                    "sse or ndjson (default: by Accept, else ndjson)",
                    json!({"type": "string", "enum": ["sse", "ndjson"]})
                ),
                query(
                    "kind",
                    "Event kinds, repeatable or comma-separated; `family.*` for a family",
                    json!({"type": "string"})
                ),
                query("container", container_param, json!({"type": "string"})),
                query(
                    "since",
                    "Replay held events with a larger id first (also the Last-Event-ID header)",
                    json!({"type": "integer", "minimum": 0})
                )
            ]),
            json!({
                "description": "One event per line (NDJSON) or per SSE message. A subscriber that falls behind its queue gets {\"kind\":\"lagged\",\"missed\":N} and continues.",
                "content": {
                    "application/x-ndjson": {"schema": {"$ref": "#/components/schemas/Event"}},
                    "text/event-stream": {"schema": {"type": "string"}}
                }
            }),
        ),
    );
    add(
        "/api/status",
        get(
            "Version, subsystems and their modes, eBPF programs, lost events, subscribers",
            json!([]),
            ok_json("Status", json!({"type": "object"})),
        ),
    );
    add(
        "/api/policy",
        get(
            "The policy mode and classes",
            json!([]),
            ok_json("Policy", json!({"$ref": "#/components/schemas/Policy"})),
        ),
    );
    add(
        "/api/policy/actions",
        get(
            "Recent policy actions (policy.action events) from the history",
            json!([
                query("container", container_param, json!({"type": "string"})),
                query(
                    "limit",
                    "At most this many, the newest",
                    json!({"type": "integer", "minimum": 0})
                )
            ]),
            ok_json(
                "Actions, oldest first",
                json!({"type": "object", "properties": {"actions": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}}}}),
            ),
        ),
    );
    add(
        "/api/policy/mode",
        json!({"post": {
            "summary": "Switch the policy mode (the only write; needs the token on every address)",
            "security": [{"bearer": []}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {
                "type": "object", "required": ["mode"], "additionalProperties": false,
                "properties": {"mode": {"type": "string", "enum": ["observe", "enforce"]}}
            }}}},
            "responses": {
                "200": ok_json("The new and previous mode", json!({"type": "object", "properties": {"mode": {"type": "string"}, "previous": {"type": "string"}}})),
                "400": error_ref(),
                "401": error_ref()
            }
        }}),
    );
    let open = |summary: &str| {
        json!({"get": {"summary": summary, "security": [], "responses": {
            "200": ok_json("OK", json!({"type": "object", "properties": {"status": {"type": "string"}}})),
            "503": error_ref()
        }}})
    };
    add("/healthz", open("The process answers (no token needed)"));
    add(
        "/readyz",
        open("The event history and streams are live (no token needed)"),
    );
    add(
        "/metrics",
        json!({"get": {"summary": "Prometheus text exposition format 0.0.4", "responses": {
            "200": {"description": "Metrics", "content": {"text/plain": {"schema": {"type": "string"}}}},
            "401": error_ref()
        }}}),
    );
    add(
        "/api/openapi.json",
        get(
            "This document",
            json!([]),
            ok_json("OpenAPI 3.1", json!({"type": "object"})),
        ),
    );
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "SmoothTask agent API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Off loopback every route but /healthz and /readyz needs `Authorization: Bearer <token>`; POST /api/policy/mode needs it everywhere. Errors are {\"error\": code, \"message\": text}."
        },
        "servers": [{"url": "http://127.0.0.1:8080"}],
        "security": [{}, {"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "SeedMetrics": metrics,
                "ContainerInfo": container_info,
                "Container": container,
                "Event": event,
                "Error": error,
                "Policy": policy
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::routes::ROUTES;

    #[test]
    fn the_document_lists_exactly_the_routes() {
        let doc = document();
        let paths = doc["paths"].as_object().unwrap();
        let mut listed: Vec<(String, String)> = paths
            .iter()
            .flat_map(|(p, item)| {
                item.as_object()
                    .unwrap()
                    .keys()
                    .map(move |m| (p.clone(), m.clone()))
            })
            .collect();
        let mut routes: Vec<(String, String)> = ROUTES
            .iter()
            .map(|(p, m)| (p.to_string(), m.to_string()))
            .collect();
        listed.sort();
        routes.sort();
        assert_eq!(listed, routes);
    }
}
