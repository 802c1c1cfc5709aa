/**
 * The bound functions RetrieveUserPrivileges and RetrieveUserPrivilegeByPrivilegeName of systemuser:
 *
 *   GET systemusers(<id>)/Microsoft.Dynamics.CRM.RetrieveUserPrivileges[()]
 *   GET systemusers(<id>)/Microsoft.Dynamics.CRM.RetrieveUserPrivilegeByPrivilegeName(PrivilegeName='prvReadContact')
 *   GET systemusers(<id>)/Microsoft.Dynamics.CRM.RetrieveUserPrivilegeByPrivilegeName(PrivilegeName=@p)?@p='prvReadContact'
 *
 * → `{"@odata.context":"…$metadata#Microsoft.Dynamics.CRM.<Function>Response","RolePrivileges":[{"Depth":"Global",
 *   "PrivilegeId":"…","BusinessUnitId":"…","PrivilegeName":"prvReadContact"}]}` — one entry per role that grants the
 * privilege; an empty array when none does. Shapes:
 * - https://learn.microsoft.com/power-apps/developer/data-platform/webapi/use-web-api-functions (RetrieveUserPrivileges)
 * - https://learn.microsoft.com/power-apps/developer/data-platform/security-access-coding (RetrieveUserPrivilegeByPrivilegeName)
 * - https://learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/roleprivilege
 * - https://learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/retrieveuserprivilegebyprivilegename
 */
import { ODataError } from "./odata";
import type { Org } from "./org";
import { json, type ApiResponse } from "./response";
import { parsePrivilegeName, privilegeError, privilegeId, privilegeName, roleGrant, verbsOf, type Principal, type Role, type Verb } from "./security";
import { GUID_RE } from "./util";

const NS = "Microsoft.Dynamics.CRM.";
const PATH = /^systemusers\(([^)/]*)\)\/Microsoft\.Dynamics\.CRM\.(RetrieveUserPrivileges|RetrieveUserPrivilegeByPrivilegeName)(?:\((.*)\))?$/s;

interface RolePrivilege {
  Depth: string;
  PrivilegeId: string;
  BusinessUnitId: string;
  PrivilegeName: string;
}

/** The response for a bound privilege function, or undefined when the path is not one. */
export function userPrivilegesRequest(org: Org, principal: Principal, path: string, rawQuery: string): ApiResponse | undefined {
  const m = PATH.exec(path);
  if (!m) return undefined;
  const [, key, fn, argSrc] = m as unknown as [string, string, "RetrieveUserPrivileges" | "RetrieveUserPrivilegeByPrivilegeName", string | undefined];
  const id = key.replace(/^guid'|'$/g, "");
  if (!GUID_RE.test(id)) throw new ODataError(`Bad key '${key}': the sandbox supports GUID keys only.`);
  const args = parseArgs(argSrc ?? "", rawQuery);

  // The messages need read access to the user record (prvReadUser) and the organization (prvReadOrganization):
  // https://learn.microsoft.com/previous-versions/dynamicscrm-2016/developers-guide/gg309700(v=crm.8)
  for (const t of ["systemuser", "organization"]) {
    const model = org.entity(t);
    if (model && !org.canRead(principal, t)) throw privilegeError(principal, model);
  }
  const user = org.getRow("systemuser", id);
  if (!user) throw new ODataError(`systemuser With Id = ${id.toLowerCase()} Does Not Exist`, "0x80040217", 404);
  const roles = org.rolesOf(id);
  const bu = org.cfg.businessUnitId;
  const entry = (role: Role, verb: Verb, model: Parameters<typeof roleGrant>[2]): RolePrivilege | undefined => {
    const depth = roleGrant(role, verb, model);
    if (!depth) return undefined;
    const name = privilegeName(verb, model);
    return { Depth: depth, PrivilegeId: privilegeId(name), BusinessUnitId: bu, PrivilegeName: name };
  };

  if (fn === "RetrieveUserPrivileges") {
    for (const k of args.keys()) throw new ODataError(`The function '${NS}${fn}' has no parameter '${k}'.`);
    const out: RolePrivilege[] = [];
    for (const role of roles)
      for (const model of org.catalog.entities)
        for (const verb of verbsOf(model)) {
          const e = entry(role, verb, model);
          if (e) out.push(e);
        }
    return json(200, { "@odata.context": `${org.apiBase}$metadata#${NS}RetrieveUserPrivilegesResponse`, RolePrivileges: out });
  }

  for (const k of args.keys())
    if (k !== "PrivilegeName" && k !== "ExcludeTeamBasic") throw new ODataError(`The function '${NS}${fn}' has no parameter '${k}'.`);
  const name = args.get("PrivilegeName");
  if (name === undefined) throw new ODataError(`The function '${NS}${fn}' requires the parameter 'PrivilegeName'.`);
  if (typeof name !== "string" || name === "") throw new ODataError(`The value for 'PrivilegeName' must be a non-empty Edm.String.`);
  const ex = args.get("ExcludeTeamBasic");
  if (ex !== undefined && ex !== null && typeof ex !== "boolean") throw new ODataError(`The value for 'ExcludeTeamBasic' must be an Edm.Boolean.`);
  const priv = parsePrivilegeName(name, org.catalog.entities);
  // message approximated (ObjectDoesNotExist)
  if (!priv) throw new ODataError(`privilege With Name = ${name} Does Not Exist`, "0x80040217", 404);
  const out: RolePrivilege[] = [];
  for (const role of roles) {
    const e = entry(role, priv.verb, priv.model);
    if (e) out.push(e);
  }
  return json(200, { "@odata.context": `${org.apiBase}$metadata#${NS}RetrieveUserPrivilegeByPrivilegeNameResponse`, RolePrivileges: out });
}

type Arg = string | number | boolean | null;

/** `Name='text',Other=@p` with aliases from the query string (`@p='text'`), OData literal syntax. */
function parseArgs(src: string, rawQuery: string): Map<string, Arg> {
  const out = new Map<string, Arg>();
  let i = 0;
  const s = src.trim();
  while (i < s.length) {
    const nm = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*/.exec(s.slice(i));
    if (!nm) throw new ODataError(`Syntax error in the function parameters '${src}'.`);
    i += nm[0].length;
    const { value, end } = literal(s, i, src);
    i = end;
    let v = value;
    if (typeof v === "object" && v !== null) {
      const alias = aliasValue(v.alias, rawQuery);
      const lit = literal(alias, 0, alias);
      if ((typeof lit.value === "object" && lit.value !== null) || lit.end !== alias.length)
        throw new ODataError(`The value '${alias}' of the parameter alias '${v.alias}' is not a valid literal.`);
      v = lit.value;
    }
    if (out.has(nm[1]!)) throw new ODataError(`The parameter '${nm[1]}' was specified more than once.`);
    out.set(nm[1]!, v as Arg);
    const rest = s.slice(i);
    const sep = /^\s*(,|$)/.exec(rest);
    if (!sep) throw new ODataError(`Syntax error in the function parameters '${src}'.`);
    i += sep[0].length;
  }
  return out;
}

function literal(s: string, i: number, src: string): { value: Arg | { alias: string }; end: number } {
  const rest = s.slice(i);
  if (rest.startsWith("'")) {
    let j = 1;
    let v = "";
    for (;;) {
      if (j >= rest.length) throw new ODataError(`There is an unterminated string literal in '${src}'.`);
      if (rest[j] === "'") {
        if (rest[j + 1] === "'") {
          v += "'";
          j += 2;
          continue;
        }
        break;
      }
      v += rest[j++];
    }
    return { value: v, end: i + j + 1 };
  }
  const tok = /^[^,\s]+/.exec(rest)?.[0] ?? "";
  const end = i + tok.length;
  if (tok.startsWith("@")) return { value: { alias: tok }, end };
  if (tok === "true" || tok === "false") return { value: tok === "true", end };
  if (tok === "null") return { value: null, end };
  if (/^-?\d+(\.\d+)?$/.test(tok)) return { value: Number(tok), end };
  throw new ODataError(`Syntax error: '${tok}' is not a valid literal in '${src}'.`);
}

function aliasValue(alias: string, rawQuery: string): string {
  for (const piece of rawQuery.split("&")) {
    const eq = piece.indexOf("=");
    if (eq < 0) continue;
    let k: string;
    let v: string;
    try {
      k = decodeURIComponent(piece.slice(0, eq));
      v = decodeURIComponent(piece.slice(eq + 1));
    } catch {
      throw new ODataError(`The query string is not correctly percent-encoded.`);
    }
    if (k === alias) return v.trim();
  }
  throw new ODataError(`The parameter alias '${alias}' is not defined in the query string.`);
}
