import { describe, expect, it } from "vitest";
import { parseIPv4, parseIPv6, webhookOrigin, webhookUrlProblem } from "../src/security/webhook-url";

// Runs inside workerd: the URL parser here is the one the Worker's fetch uses.
const DEV = "127.0.0.1:8123,localhost:9000,[::1]:8124";

describe("webhook URLs allowed", () => {
  const allowed = [
    "https://hooks.slack.com/services/X",
    "https://example.com:8443/x",
    "https://8.8.8.8/x",
    "https://1.1.1.1:8443/",
    "https://[2606:4700:4700::1111]/hook",
    "https://[::ffff:8.8.8.8]/hook", // IPv4-mapped, but a public address
    "https://hooks.example.com/a?b=c#d",
    "https://xn--bcher-kva.example/hook", // IDN
    "https://ex%61mple.com/x", // percent-encoded host → example.com
    "https://172.32.0.1/x", // just past 172.16/12
    "https://100.128.0.1/x", // just past 100.64/10
    "https://169.255.0.1/x", // just past 169.254/16
    "https://11.0.0.1/x",
    "https://223.255.255.255/x", // just below multicast
  ];
  for (const url of allowed) {
    it(`allows ${url}`, () => {
      expect(webhookUrlProblem(url)).toBeNull();
    });
  }
});

describe("webhook URLs refused", () => {
  // [url, what the message must say]
  const refused: Array<[string, RegExp]> = [
    // the list
    ["https://169.254.169.254/latest/meta-data/", /link-local/],
    ["https://10.0.0.5:8443/hook", /private/],
    ["https://127.0.0.1/hook", /loopback/],
    ["https://[::1]/hook", /loopback/],
    ["https://localhost/hook", /local/],
    ["https://192.168.1.10/hook", /private/],
    ["https://100.64.0.1/hook", /CGNAT/],
    ["https://[fd00::1]/hook", /unique-local/],
    ["https://0x7f000001/hook", /loopback/],
    ["https://metadata.google.internal/computeMetadata/v1/", /internal/],
    // scheme and userinfo
    ["http://hooks.example.com/x", /https/],
    ["ftp://hooks.example.com/x", /https/],
    ["javascript:alert(1)", /https/],
    ["file:///etc/passwd", /https/],
    ["https://user:pw@hooks.example.com/x", /user name/],
    ["https://user@hooks.example.com/x", /user name/],
    ["https://@hooks.example.com/x", /user name/],
    ["https://hooks.example.com@127.0.0.1/x", /user name/],
    ["not a url", /spaces|URL/],
    ["", /URL/],
    ["https://hooks.example.com\\@127.0.0.1/x", /backslash/],
    ["https://hooks.exa\tmple.com/x", /control/],
    ["https://999.1.1.1/x", /URL/],
    // loopback in every IPv4 notation
    ["https://127.1/x", /loopback/],
    ["https://127.0.1/x", /loopback/],
    ["https://2130706433/x", /loopback/],
    ["https://0x7f.0.0.1/x", /loopback/],
    ["https://0x7F.0x0.0x0.0x1/x", /loopback/],
    ["https://0177.0.0.1/x", /loopback/],
    ["https://0177.0000.0000.0001/x", /loopback/],
    ["https://017700000001/x", /loopback/],
    ["https://127.0.0.1./x", /loopback/],
    ["https://127.0.0.%31/x", /loopback/],
    ["https://１２７.０.０.１/x", /loopback/], // full-width digits
    ["https://127.255.255.254:8443/x", /loopback/],
    // private, link-local, CGNAT in other notations
    ["https://0xa000005/x", /private/], // 10.0.0.5
    ["https://167772165/x", /private/], // 10.0.0.5
    ["https://012.0.0.5/x", /private/], // octal 10.0.0.5
    ["https://10.1/x", /private/],
    ["https://172.16.0.1/x", /private/],
    ["https://172.31.255.255/x", /private/],
    ["https://0xc0a8010a/x", /private/], // 192.168.1.10
    ["https://192.168.65535/x", /private/],
    ["https://2852039166/x", /link-local/], // 169.254.169.254
    ["https://0xa9fea9fe/x", /link-local/],
    ["https://0251.0376.0251.0376/x", /link-local/],
    ["https://169.254.43518/x", /link-local/],
    ["https://100.127.255.255/x", /CGNAT/],
    // reserved, unspecified, multicast, broadcast, documentation, benchmarking
    ["https://0.0.0.0/x", /reserved/],
    ["https://0/x", /reserved/],
    ["https://0.1.2.3/x", /reserved/],
    ["https://224.0.0.1/x", /multicast/],
    ["https://239.255.255.250/x", /multicast/],
    ["https://240.0.0.1/x", /reserved/],
    ["https://255.255.255.255/x", /reserved/],
    ["https://4294967295/x", /reserved/],
    ["https://192.0.0.8/x", /reserved/],
    ["https://198.18.0.1/x", /benchmarking/],
    ["https://198.19.255.255/x", /benchmarking/],
    ["https://192.0.2.1/x", /documentation/],
    ["https://198.51.100.7/x", /documentation/],
    ["https://203.0.113.9/x", /documentation/],
    // IPv6
    ["https://[::]/x", /unspecified/],
    ["https://[0:0:0:0:0:0:0:1]/x", /loopback/],
    ["https://[::ffff:127.0.0.1]/x", /loopback/], // IPv4-mapped, dotted
    ["https://[::ffff:7f00:1]/x", /loopback/], // IPv4-mapped, hex
    ["https://[0:0:0:0:0:ffff:7f00:0001]/x", /loopback/],
    ["https://[::ffff:169.254.169.254]/x", /link-local/],
    ["https://[::ffff:a9fe:a9fe]/x", /link-local/],
    ["https://[::ffff:10.0.0.5]/x", /private/],
    ["https://[::127.0.0.1]/x", /loopback/], // IPv4-compatible
    ["https://[::a9fe:a9fe]/x", /link-local/], // IPv4-compatible, hex
    ["https://[64:ff9b::127.0.0.1]/x", /loopback/], // NAT64
    ["https://[64:ff9b::a9fe:a9fe]/x", /link-local/],
    ["https://[64:ff9b:1::1]/x", /private/],
    ["https://[2002:7f00:1::1]/x", /loopback/], // 6to4 of 127.0.0.1
    ["https://[2002:c0a8:10a::]/x", /private/], // 6to4 of 192.168.1.10
    ["https://[fe80::1]/x", /link-local/],
    ["https://[febf:ffff::1]/x", /link-local/],
    ["https://[fec0::1]/x", /site-local/],
    ["https://[fc00::1]/x", /unique-local/],
    ["https://[FDFF:FFFF::1]/x", /unique-local/],
    ["https://[ff02::1]/x", /multicast/],
    ["https://[ff05::1:3]/x", /multicast/],
    ["https://[2001:db8::1]/x", /documentation/],
    ["https://[3fff::1]/x", /documentation/],
    ["https://[2001::1]/x", /Teredo/],
    ["https://[100::1]/x", /discard/],
    ["https://[4000::1]/x", /reserved/], // outside 2000::/3
    ["https://[fe80::1%25eth0]/x", /URL/], // zone ids are not valid in URLs
    // names
    ["https://LOCALHOST/x", /local/],
    ["https://localhost./x", /local/],
    ["https://api.localhost/x", /local/],
    ["https://ⓛocalhost/x", /local/], // Unicode mapped to "localhost"
    ["https://printer.local/x", /local/],
    ["https://metadata.google.internal./x", /internal/],
    ["https://vault.corp.internal:8200/x", /internal/],
    ["https://router.home.arpa/x", /local/],
    ["https://nas.lan/x", /local/],
    ["https://metadata/computeMetadata/v1/", /fully qualified/],
    ["https://intranet-server/x", /fully qualified/],
  ];
  for (const [url, message] of refused) {
    it(`refuses ${JSON.stringify(url)}`, () => {
      const problem = webhookUrlProblem(url);
      expect(problem).not.toBeNull();
      expect(problem).toMatch(message);
    });
  }

  it("names the address it refused, in dotted form when the URL used another notation", () => {
    expect(webhookUrlProblem("https://0x7f000001/hook")).toBe("must not point at a loopback address (127.0.0.1)");
    expect(webhookUrlProblem("https://[::ffff:a9fe:a9fe]/")).toBe("must not point at a link-local address (169.254.169.254)");
  });
});

describe("DEV_INSECURE_ORG_HOSTS (dev only)", () => {
  it("allows exactly the listed host:port, over http and https", () => {
    expect(webhookUrlProblem("http://127.0.0.1:8123/hook", DEV)).toBeNull();
    expect(webhookUrlProblem("https://127.0.0.1:8123/hook", DEV)).toBeNull();
    expect(webhookUrlProblem("http://localhost:9000/hook", DEV)).toBeNull();
    expect(webhookUrlProblem("http://LOCALHOST:9000/hook", DEV)).toBeNull();
    expect(webhookUrlProblem("http://[::1]:8124/hook", DEV)).toBeNull();
  });

  it("refuses other ports, other hosts and userinfo even on a listed host", () => {
    expect(webhookUrlProblem("http://127.0.0.1:8124/hook", DEV)).toMatch(/https/);
    expect(webhookUrlProblem("https://127.0.0.1:8124/hook", DEV)).toMatch(/loopback/);
    expect(webhookUrlProblem("https://127.0.0.1/hook", DEV)).toMatch(/loopback/);
    expect(webhookUrlProblem("http://localhost/hook", DEV)).toMatch(/https/);
    expect(webhookUrlProblem("http://user:pw@127.0.0.1:8123/hook", DEV)).toMatch(/user name/);
    expect(webhookUrlProblem("ftp://127.0.0.1:8123/hook", DEV)).toMatch(/https/);
  });

  it("grants nothing when unset or empty", () => {
    expect(webhookUrlProblem("http://127.0.0.1:8123/hook")).toMatch(/https/);
    expect(webhookUrlProblem("http://127.0.0.1:8123/hook", "")).toMatch(/https/);
    expect(webhookUrlProblem("https://127.0.0.1:8123/hook", "")).toMatch(/loopback/);
  });
});

describe("webhookOrigin", () => {
  it("keeps only scheme, host and port: no path, query, fragment or userinfo", () => {
    expect(webhookOrigin("https://hooks.slack.com/services/T000/B000/XXXXXXXX")).toBe("https://hooks.slack.com");
    expect(webhookOrigin("https://user:pw@hooks.example.com:8443/x?token=abc#f")).toBe("https://hooks.example.com:8443");
    expect(webhookOrigin("https://hooks.example.com:443/x")).toBe("https://hooks.example.com");
    expect(webhookOrigin("http://127.0.0.1:8123/hook")).toBe("http://127.0.0.1:8123");
    expect(webhookOrigin("https://[::1]:8443/x")).toBe("https://[::1]:8443");
  });

  it("never echoes an invalid or non-http URL", () => {
    expect(webhookOrigin("not a url with a secret")).toBe("(invalid URL)");
    expect(webhookOrigin("javascript:alert('secret')")).toBe("(invalid URL)");
  });
});

describe("address parsers", () => {
  it("parses every WHATWG IPv4 notation", () => {
    const loopback = 0x7f000001;
    for (const s of ["127.0.0.1", "127.1", "127.0.1", "2130706433", "0x7f000001", "0x7f.0.0.1", "0177.0.0.1", "017700000001", "127.0.0.1."]) {
      expect(parseIPv4(s), s).toBe(loopback);
    }
    expect(parseIPv4("0x")).toBe(0);
    expect(parseIPv4("255.255.255.255")).toBe(0xffffffff);
    for (const s of ["256.0.0.1", "1.2.3.4.5", "08.0.0.1", "4294967296", "1.2.3.256", "1.2.65536", "example.com", "", "1..2.3", "0x1g"]) {
      expect(parseIPv4(s), s).toBeNull();
    }
  });

  it("parses IPv6 literals into 8 groups", () => {
    expect(parseIPv6("::")).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(parseIPv6("::1")).toEqual([0, 0, 0, 0, 0, 0, 0, 1]);
    expect(parseIPv6("fe80::1")).toEqual([0xfe80, 0, 0, 0, 0, 0, 0, 1]);
    expect(parseIPv6("1:2:3:4:5:6:7:8")).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(parseIPv6("1:2:3::8")).toEqual([1, 2, 3, 0, 0, 0, 0, 8]);
    expect(parseIPv6("::ffff:127.0.0.1")).toEqual([0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]);
    expect(parseIPv6("2001:DB8::")).toEqual([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0]);
    for (const s of [
      "",
      ":",
      ":::",
      "1::2::3",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7",
      "1:2:3:4::5:6:7:8",
      "12345::",
      "g::",
      "::1.2.3.256",
      "fe80::1%eth0",
      ":1:2:3:4:5:6:7",
    ]) {
      expect(parseIPv6(s), s).toBeNull();
    }
  });
});
