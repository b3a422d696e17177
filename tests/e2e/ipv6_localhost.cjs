// Preloaded into node (NODE_OPTIONS=--require ...) by tests/e2e/test_medcor.py: this
// process resolves `localhost` to ::1 only, as node does on machines whose resolver
// answers ::1 first (`::1 localhost` in /etc/hosts, node >= 17's verbatim order).
// Vite run with no --host then listens on [::1] only, and 127.0.0.1 refuses.
"use strict";
const dns = require("dns");

function wantsV6(options) {
  const family = typeof options === "number" ? options : options && options.family;
  return !family || family === 6 || family === "IPv6";
}

const lookup = dns.lookup;
dns.lookup = function (hostname, options, callback) {
  if (typeof options === "function") [callback, options] = [options, {}];
  if (hostname === "localhost" && wantsV6(options)) {
    const all = typeof options === "object" && options.all;
    return process.nextTick(() =>
      all ? callback(null, [{ address: "::1", family: 6 }]) : callback(null, "::1", 6),
    );
  }
  return lookup.call(this, hostname, options, callback);
};

const promisesLookup = dns.promises.lookup;
dns.promises.lookup = async function (hostname, options) {
  if (hostname === "localhost" && wantsV6(options)) {
    const all = typeof options === "object" && options.all;
    return all ? [{ address: "::1", family: 6 }] : { address: "::1", family: 6 };
  }
  return promisesLookup.call(this, hostname, options);
};
