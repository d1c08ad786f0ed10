# Inputs of the deployment. Defaults are the three nodes of the seed; with
# demo_scores = true (the compose demo) node-a and node-b get made-up scores
# that pass and node-c made-up scores below the threshold. A real deployment
# gives every node its harness (bench_cmd) instead.

variable "nodes" {
  description = "Mesh nodes: id, overlay host prefixes, outer endpoint (host:port), benchmark harness command (bench_cmd), demo score mean (only with demo_scores), key generation (bump to rotate that node's keys)."
  type = list(object({
    name           = string
    overlay        = list(string)
    endpoint       = string
    bench_cmd      = optional(string, "")
    score          = optional(number, 0.9)
    key_generation = optional(number, 0)
    tags           = optional(list(string), [])
  }))
  default = [
    { name = "node-a", overlay = ["10.10.0.2/32", "fd10::2/128"], endpoint = "192.168.77.11:51820", score = 0.91 },
    { name = "node-b", overlay = ["10.10.0.3/32", "fd10::3/128"], endpoint = "192.168.77.12:51820", score = 0.86 },
    { name = "node-c", overlay = ["10.10.0.4/32", "fd10::4/128"], endpoint = "192.168.77.13:51820", score = 0.38 },
  ]

  validation {
    condition     = length(var.nodes) > 0 && length(distinct([for n in var.nodes : n.name])) == length(var.nodes)
    error_message = "nodes: at least one node, and node names must be unique."
  }
  validation {
    condition     = alltrue([for n in var.nodes : can(regex("^[a-z0-9][a-z0-9._-]{0,62}$", n.name)) && !strcontains(n.name, "..")])
    error_message = "nodes: a name must match ^[a-z0-9][a-z0-9._-]{0,62}$ without \"..\" (docs/PROTOCOL.md)."
  }
  validation {
    condition = alltrue(flatten([for n in var.nodes : [
      for p in n.overlay : can(cidrhost(p, 0)) && (
        strcontains(p, ":") ? split("/", p)[1] == "128" : split("/", p)[1] == "32"
      )
    ]]))
    error_message = "nodes: every overlay entry must be a host prefix (a.b.c.d/32 or an IPv6 address/128)."
  }
  validation {
    condition     = alltrue([for n in var.nodes : length(n.overlay) > 0])
    error_message = "nodes: every node needs at least one overlay address."
  }
  validation {
    condition     = length(distinct(flatten([for n in var.nodes : n.overlay]))) == length(flatten([for n in var.nodes : n.overlay]))
    error_message = "nodes: an overlay address is used by two nodes."
  }
  validation {
    condition = alltrue([for n in var.nodes : can(regex("^([0-9.]+|\\[[0-9a-fA-F:]+\\]|[A-Za-z0-9.-]+):([0-9]{1,5})$", n.endpoint)) &&
    try(tonumber(regex(":([0-9]{1,5})$", n.endpoint)[0]) <= 65535 && tonumber(regex(":([0-9]{1,5})$", n.endpoint)[0]) > 0, false)])
    error_message = "nodes: endpoint must be host:port or [ipv6]:port with a port in 1..65535."
  }
  validation {
    condition     = alltrue([for n in var.nodes : n.score >= 0 && n.score <= 1])
    error_message = "nodes: score must be within 0..1."
  }
  validation {
    condition     = alltrue([for n in var.nodes : n.key_generation >= 0 && floor(n.key_generation) == n.key_generation])
    error_message = "nodes: key_generation must be a whole number >= 0."
  }
  validation {
    condition     = alltrue([for n in var.nodes : length(n.tags) <= 16 && length(distinct(n.tags)) == length(n.tags) && alltrue([for t in n.tags : can(regex("^[a-z0-9][a-z0-9._-]{0,31}$", t))])])
    error_message = "nodes: tags (what a policy's groups match) are at most 16 distinct names matching ^[a-z0-9][a-z0-9._-]{0,31}$."
  }
}

variable "evaluators" {
  description = "Evaluators enrolled at the controller's start (docs/policy.md): id and the base64 of its 32-byte Ed25519 public key (`meshnet-eval keygen` prints it). Rendered into controller/evaluators.json (EVALUATORS_FILE)."
  type = list(object({
    id         = string
    public_key = string
  }))
  default = []

  validation {
    condition     = alltrue([for e in var.evaluators : can(regex("^[a-z0-9][a-z0-9._-]{0,62}$", e.id)) && !contains(["self", "any"], e.id)])
    error_message = "evaluators: an id must match ^[a-z0-9][a-z0-9._-]{0,62}$ and not be \"self\" or \"any\"."
  }
  validation {
    condition     = alltrue([for e in var.evaluators : can(regex("^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$", e.public_key))])
    error_message = "evaluators: public_key must be the base64 of a 32-byte Ed25519 public key (44 characters)."
  }
  validation {
    condition     = length(distinct([for e in var.evaluators : e.id])) == length(var.evaluators) && length(distinct([for e in var.evaluators : e.public_key])) == length(var.evaluators)
    error_message = "evaluators: ids and public keys must be unique."
  }
}

variable "policy" {
  description = "The membership policy (docs/policy.md), e.g. file(\"policy.conf\"): rendered into controller/policy.conf (POLICY_FILE); meshnetd validates it whole at start. Empty: the THRESHOLD rule on the nodes' own reports."
  type        = string
  default     = ""

  validation {
    condition     = var.policy == "" || can(regex("(?m)^[ \t]*version[ \t]+[0-9]+[ \t]*(#.*)?$", var.policy))
    error_message = "policy: a policy file starts with a \"version N\" line (docs/policy.md)."
  }
  validation {
    condition     = length(var.policy) <= 1048576
    error_message = "policy: at most 1 MiB."
  }
}

variable "demo_scores" {
  description = "Demo only: agents submit made-up scores (DEMO_SCORES=yes, mean = each node's score) and the controller accepts them (ALLOW_DEMO_SCORES=1). Off: every node needs a bench_cmd."
  type        = bool
  default     = false
}

variable "artifacts_dir" {
  description = "Where everything is rendered (default: artifacts/ at the top of the repository)."
  type        = string
  default     = null
}

variable "overlay_prefix_length" {
  description = "Prefix length of the overlay network, used for each node's wg0 Address."
  type        = object({ ipv4 = number, ipv6 = number })
  default     = { ipv4 = 24, ipv6 = 64 }
  validation {
    condition     = var.overlay_prefix_length.ipv4 >= 8 && var.overlay_prefix_length.ipv4 <= 32 && var.overlay_prefix_length.ipv6 >= 16 && var.overlay_prefix_length.ipv6 <= 128
    error_message = "overlay_prefix_length: ipv4 in 8..32, ipv6 in 16..128."
  }
}

variable "controller_url" {
  description = "URL the nodes use to reach meshnetd."
  type        = string
  default     = "https://controller:8443"
  validation {
    condition     = can(regex("^https?://[A-Za-z0-9.:\\[\\]-]+(:[0-9]{1,5})?$", var.controller_url))
    error_message = "controller_url: want https://host:port (no path)."
  }
}

variable "controller_listen" {
  description = "Address and port meshnetd listens on inside its host or container."
  type        = string
  default     = "0.0.0.0:8443"
}

variable "controller_san" {
  description = "subjectAltNames of the controller's TLS certificate (DNS:name or IP:address)."
  type        = list(string)
  default     = ["DNS:controller", "DNS:localhost", "IP:127.0.0.1", "IP:::1", "IP:192.168.77.10"]
  validation {
    condition     = length(var.controller_san) > 0 && alltrue([for s in var.controller_san : can(regex("^(DNS:[A-Za-z0-9.-]+|IP:[0-9A-Fa-f.:]+)$", s))])
    error_message = "controller_san: each entry is DNS:name or IP:address."
  }
}

variable "tls_days" {
  description = "Validity of the CA and the server certificate, in days."
  type        = number
  default     = 825
}

variable "pki_generation" {
  description = "Bump to replace the CA and the server certificate."
  type        = number
  default     = 0
}

variable "admin_token_generation" {
  description = "Bump to replace the admin token (see docs/operations.md)."
  type        = number
  default     = 0
}

variable "threshold" {
  description = "Membership threshold written into the controller's config."
  type        = number
  default     = 0.7
  validation {
    condition     = var.threshold >= 0 && var.threshold <= 1
    error_message = "threshold must be within 0..1."
  }
}

variable "epoch_seconds" {
  description = "Epoch length written into the controller's config."
  type        = number
  default     = 60
  validation {
    condition     = var.epoch_seconds >= 5 && var.epoch_seconds <= 86400
    error_message = "epoch_seconds must be within 5..86400."
  }
}

variable "controller_store" {
  description = "meshnetd's STORE: \"\" keeps the state directory (one controller); \"postgres\" renders a PostgreSQL store for the compose file's postgres profile (several controllers on one database, docs/postgres.md); any other postgres://... URL is used as given (an external database; replication and backups are that database's job)."
  type        = string
  default     = ""
  validation {
    condition     = var.controller_store == "" || var.controller_store == "postgres" || can(regex("^postgres(ql)?://", var.controller_store))
    error_message = "controller_store must be \"\", \"postgres\" or a postgres://... URL."
  }
}
