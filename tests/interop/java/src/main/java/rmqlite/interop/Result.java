package rmqlite.interop;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Outcome of one scenario, printed as one JSON line. ok = no error, nothing lost/duplicated/altered/unexpected. */
final class Result {
    final String scenario;
    int sent;
    int received;
    int lost;
    int duplicated;
    int altered;
    int unexpected;
    final List<String> failures = new ArrayList<>();
    final Map<String, Object> notes = new LinkedHashMap<>();
    String error;
    double seconds;

    Result(String scenario) {
        this.scenario = scenario;
    }

    /** Add a ledger's counters (several ledgers, e.g. one per broadcasting consumer, are summed). */
    void add(Ledger l) {
        received += l.received();
        lost += l.lost();
        duplicated += l.duplicated();
        altered += l.altered();
        unexpected += l.unexpected();
        for (String p : l.problems()) {
            if (failures.size() < 20) {
                failures.add(p);
            }
        }
        if (l.lost() > 0) {
            failures.add("missing ids (first 5): " + l.missing(5));
        }
    }

    /** Record a failed check (makes the scenario fail). */
    void fail(String what) {
        if (failures.size() < 30) {
            failures.add(what);
        }
    }

    /** Check cond; record what on failure. */
    void check(boolean cond, String what) {
        if (!cond) {
            fail(what);
        }
    }

    boolean ok() {
        return error == null && failures.isEmpty() && lost == 0 && duplicated == 0 && altered == 0
            && unexpected == 0;
    }

    String toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("scenario", scenario);
        m.put("sent", sent);
        m.put("received", received);
        m.put("lost", lost);
        m.put("duplicated", duplicated);
        m.put("altered", altered);
        m.put("unexpected", unexpected);
        m.put("ok", ok());
        String err = error;
        if (err == null && !failures.isEmpty()) {
            err = String.join(" | ", failures);
        } else if (err != null && !failures.isEmpty()) {
            err = err + " | " + String.join(" | ", failures);
        }
        m.put("error", err);
        m.put("seconds", seconds);
        m.put("notes", notes);
        return Json.write(m);
    }
}
