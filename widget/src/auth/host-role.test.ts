import { describe, expect, it } from "vitest";
import { hostRoleOf } from "./host-role";

const b64url = (s: string) => Buffer.from(s, "utf8").toString("base64url");
const jwt = (claims: unknown) => `${b64url('{"alg":"HS256","typ":"JWT"}')}.${b64url(JSON.stringify(claims))}.c2ln`;

describe("hostRoleOf", () => {
  it("reads the viewer role from the token's payload", () => {
    expect(hostRoleOf(jwt({ tenant: "t", sub: "u", role: "viewer" }))).toBe("viewer");
  });

  it("reads the admin role from the token's payload", () => {
    expect(hostRoleOf(jwt({ tenant: "t", sub: "u", role: "admin" }))).toBe("admin");
  });

  it("decodes base64url payloads with non-ASCII claims and no padding", () => {
    expect(hostRoleOf(jwt({ role: "viewer", name: "Zoë Ångström ~~??>>" }))).toBe("viewer");
  });

  it("assumes admin when the token has no role", () => {
    expect(hostRoleOf(jwt({ tenant: "t", sub: "u" }))).toBe("admin");
  });

  it("assumes admin when the token is not a JWT", () => {
    expect(hostRoleOf("opaque-session-token")).toBe("admin");
    expect(hostRoleOf("a.%%%.c")).toBe("admin");
    expect(hostRoleOf(`a.${b64url("not json")}.c`)).toBe("admin");
  });
});
