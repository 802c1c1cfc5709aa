/**
 * Display names for the jobs table without a Dynamics token (the table must not open a sign-in popup):
 * the common entities by their Dynamics display names, others title-cased from the logical name.
 */
const KNOWN: Record<string, string> = {
  account: "Account",
  contact: "Contact",
  systemuser: "User",
  lead: "Lead",
  opportunity: "Opportunity",
  incident: "Case",
  transactioncurrency: "Currency",
  team: "Team",
  businessunit: "Business Unit",
  task: "Task",
  email: "Email",
  phonecall: "Phone Call",
  appointment: "Appointment",
};

export function entityDisplayName(logicalName: string): string {
  const known = KNOWN[logicalName];
  if (known) return known;
  // Custom entities carry a publisher prefix (new_project → Project).
  const bare = logicalName.includes("_") ? logicalName.slice(logicalName.indexOf("_") + 1) : logicalName;
  return (
    bare
      .split("_")
      .filter(Boolean)
      .map((w) => w[0]!.toUpperCase() + w.slice(1))
      .join(" ") || logicalName
  );
}

/** What each out-of-the-box job does, in one line. */
export const BUILT_IN_NOTES: Record<string, string> = {
  company: "Created for you: copies your Accounts into Companies.",
  person: "Created for you: copies your Contacts into People, after Companies.",
  company_person: "Created for you: links each Contact to the Company of its parent Account.",
  user: "Created for you: copies your Dynamics users into Users.",
};
