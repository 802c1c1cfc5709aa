/**
 * Which hosts are Dataverse organizations: the one copy of the rule that the edge enforces (security/org-url.ts)
 * and the widget's connection form checks as the admin types. Pure, no imports: it is in the widget's first paint.
 */

const LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";

/** Dataverse's public clouds: `<org>.<region>.dynamics.com` (and the `.api.` form) plus the sovereign clouds. */
const DATAVERSE_HOSTS: RegExp[] = [
  // Commercial: crm (NAM), crm2 … crm22 (SAM, CAN, EUR, APJ, OCE, JPN, IND, GCC, GBR, FRA, ZAF, UAE, GER, CHE, NOR, SGP, KOR, SWE …)
  new RegExp(`^${LABEL}\\.(?:api\\.)?crm(?:[2-9]|1[0-9]|2[0-2])?\\.dynamics\\.com$`),
  // US Government: GCC High and DoD
  new RegExp(`^${LABEL}\\.(?:api\\.)?crm\\.microsoftdynamics\\.us$`),
  new RegExp(`^${LABEL}\\.(?:api\\.)?crm\\.appsplatform\\.us$`),
  // China (21Vianet)
  new RegExp(`^${LABEL}\\.(?:api\\.)?crm\\.dynamics\\.cn$`),
];

/** True for a Dataverse organization host name (lower-case, no port). */
export function isDataverseHost(host: string): boolean {
  return DATAVERSE_HOSTS.some((re) => re.test(host));
}

/** The environment host of a Web API host: `contoso.api.crm4.dynamics.com` → `contoso.crm4.dynamics.com`. */
export function environmentHost(host: string): string {
  return host.replace(/^([^.]+)\.api\.(crm)/, "$1.$2");
}

/** What the regions look like, for messages. */
export const DATAVERSE_HOST_EXAMPLE = "https://contoso.crm.dynamics.com (regions crm…crm22, crm.microsoftdynamics.us, crm.appsplatform.us, crm.dynamics.cn)";
