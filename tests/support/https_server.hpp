// A real HTTPS server for tests: Python's http.server behind TLS, with a
// self-signed certificate that `openssl req` makes for the test.
//
//   scratch_dir dir, site;
//   auto tls = make_certificate(dir, "localhost");
//   https_server server{dir, site.path, tls};  // serves `site` over TLS
//   ... https://127.0.0.1:<server.port>/file ...
//
// The certificate names `name` (DNS) and 127.0.0.1 (IP address) and is its
// own authority: a client verifies it only if told to trust cert.pem (e.g.
// SSL_CERT_FILE). write_https_script() leaves the server's program in a
// file, for apps that serve HTTPS themselves:
//   python3 SCRIPT --cert C --key K --port P [--bind A] [--dir D]
// prints "serving on PORT" once it listens, then serves D (default: the
// working directory) until killed; /until-close answers a body that the
// closing of the connection ends.
#pragma once

#include <string>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "dcos/subprocess.hpp"
#include "support/checks.hpp"
#include "support/files.hpp"
#include "support/processes.hpp"

namespace dcos::test {

struct certificate {
  std::string cert; // PEM certificate, also the authority to trust
  std::string key;  // PEM private key, unencrypted
};

/// Makes DIR/NAME.crt and DIR/NAME.key for `name` and 127.0.0.1.
inline certificate make_certificate(const scratch_dir& dir,
                                    const std::string& name) {
  certificate out{dir / (name + ".crt"), dir / (name + ".key")};
  auto made = run_to_end(
    {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
     "-subj", "/CN=" + name, "-addext",
     fmt::format("subjectAltName=DNS:{},IP:127.0.0.1", name), "-keyout",
     out.key, "-out", out.cert});
  REQUIRE_MESSAGE(made.status == 0, "openssl req failed: " << made.out);
  return out;
}

/// Writes the server's program to DIR/serve_https.py; returns its path.
inline std::string write_https_script(const scratch_dir& dir) {
  auto path = dir / "serve_https.py";
  write_file(path, R"(import argparse, http.server, os, ssl, sys
p = argparse.ArgumentParser()
p.add_argument("--cert", required=True)
p.add_argument("--key", required=True)
p.add_argument("--port", type=int, default=0)
p.add_argument("--bind", default="127.0.0.1")
p.add_argument("--dir", default=".")
a = p.parse_args()
class Handler(http.server.SimpleHTTPRequestHandler):
    # /until-close: a body without a length, ended by closing the
    # connection (and, as Python's ssl does, without close_notify).
    def do_GET(self):
        if self.path != "/until-close":
            return super().do_GET()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"until the close")
        self.close_connection = True
handler = lambda *args: Handler(*args, directory=a.dir)
server = http.server.ThreadingHTTPServer((a.bind, a.port), handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(a.cert, a.key)
server.socket = context.wrap_socket(server.socket, server_side=True)
print("serving on", server.server_address[1], flush=True)
server.serve_forever()
)");
  return path;
}

/// The server, serving `root` on a free loopback port until it goes out
/// of scope.
struct https_server {
  uint16_t port = 0; // before `process`, whose start sets it
  subprocess process;

  https_server(const scratch_dir& scratch, const std::string& root,
               const certificate& tls)
    : process(start(scratch, root, tls, &port)) {}

private:
  static subprocess start(const scratch_dir& scratch, const std::string& root,
                          const certificate& tls, uint16_t* port) {
    subprocess_options opts;
    opts.argv = {"python3", write_https_script(scratch), "--cert", tls.cert,
                 "--key", tls.key, "--dir", root};
    opts.capture_stdout = true;
    auto p = subprocess::spawn(opts);
    DCOS_REQUIRE_OK(p);
    auto line = p->read_line(std::chrono::seconds(20));
    DCOS_REQUIRE_OK(line);
    REQUIRE_MESSAGE(line->rfind("serving on ", 0) == 0, *line);
    *port = static_cast<uint16_t>(std::stoi(line->substr(11)));
    return std::move(*p);
  }
};

} // namespace dcos::test
