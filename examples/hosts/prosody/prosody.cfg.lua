-- prosody.cfg.lua: a Prosody serving mod_luajobs_demo over HTTP only. The
-- tests fill in @DIR@ (this folder), @PORT@ and @TMP@ (a temporary folder).
run_as_root = true  -- tests may run as root; Prosody refuses it otherwise
pidfile = "@TMP@/prosody.pid"
data_path = "@TMP@"
plugin_paths = { "@DIR@" }
certificates = "@TMP@"
log = { { levels = { min = "warn" }, to = "console" } }
modules_enabled = { "http" }
http_ports = { @PORT@ }
http_interfaces = { "127.0.0.1" }
http_default_host = "localhost"
https_ports = {}
c2s_ports = {}
c2s_direct_tls_ports = {}
legacy_ssl_ports = {}
s2s_ports = {}
component_ports = {}
VirtualHost "localhost"
  modules_enabled = { "luajobs_demo" }
