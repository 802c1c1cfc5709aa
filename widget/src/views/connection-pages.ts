/**
 * The views behind a connection (readiness, jobs, runs, records, a job's read-only summary): one lazy chunk the root
 * imports when the admin first leaves the connections list, so the first paint carries only that list and its form.
 */
import "./readiness-report";
import "./jobs-table";
import "./runs-view";
import "./records-view";
import "./job-summary";
