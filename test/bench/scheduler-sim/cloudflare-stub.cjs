// The simulation runs the edge's scheduling code in Node: the Workers-only modules its imports reach (worker-mailer's
// `cloudflare:sockets`) resolve to this stub. Nothing in the simulation sends e-mail; using it would throw.
module.exports = {
  connect() {
    throw new Error("cloudflare:sockets is not available in the scheduler simulation");
  },
};
