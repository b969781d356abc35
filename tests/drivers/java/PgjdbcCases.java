// tests/drivers/java/PgjdbcCases.java — pgjdbc cases (server-prepared statements after the first
// use: prepareThreshold=1; setFetchSize with autocommit off keeps a portal open across Syncs;
// batches): concurrent clients, statement reuse across pooled server connections, portals, batch
// errors. Prints a transcript "<case> | <text>" (tests/drivers/run_driver.sh); no timing in it.

import java.sql.BatchUpdateException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

public final class PgjdbcCases {
    static final int CLIENTS = 30;
    static final int ITERATIONS = 5;
    static final int ROWS_PER_ITERATION = 4;
    static final int ROLLED_BACK_ITERATION = 2;
    static final int CASE_TIMEOUT_S = 100;

    static final String HOST = System.getenv("PGHOST");
    static final String PORT = System.getenv("PGPORT");
    static final String DB = System.getenv("PGDATABASE");
    static final String USER = System.getenv("PGUSER");
    static final String PASSWORD = System.getenv("PGPASSWORD");
    static final String TAG = System.getenv("DRV_TAG");

    interface CaseBody {
        void run(Log log) throws Exception;
    }

    interface ClientBody {
        void run(Log log, int client, CyclicBarrier ready) throws Exception;
    }

    /** Lines of one case or one concurrent client; check() failures make the run exit 1. */
    static final class Log {
        final List<String> lines = new ArrayList<>();
        boolean failed = false;

        synchronized void out(String text) {
            lines.add(text.replace(TAG, "<tag>"));
        }

        synchronized void unexpected(String text) {
            failed = true;
            out("UNEXPECTED " + text);
        }

        void check(String label, Object got, Object want) {
            check(label, got, want, false);
        }

        void check(String label, Object got, Object want, boolean quiet) {
            if (!Objects.equals(got, want)) {
                unexpected(label + ": got " + got + ", PostgreSQL gives " + want);
            } else if (!quiet) {
                out(label + ": " + got);
            }
        }

        synchronized List<String> snapshot() {
            return new ArrayList<>(lines);
        }
    }

    static String name(String base) {
        return "drv_" + TAG + "_" + base;
    }

    static String describe(Throwable e) {
        if (e instanceof SQLException) {
            SQLException s = (SQLException) e;
            String message = String.valueOf(s.getMessage()).split("\n")[0];
            return s.getSQLState() + " " + message;
        }
        return e.getClass().getSimpleName() + " " + e.getMessage();
    }

    /** prepareThreshold=1: a PreparedStatement becomes a named server statement (S_n) on its
     *  first execution and later executions send only Bind. 0 never names a statement. */
    static Connection connect(int prepareThreshold) throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", USER);
        props.setProperty("password", PASSWORD);
        props.setProperty("prepareThreshold", Integer.toString(prepareThreshold));
        props.setProperty("connectTimeout", "20");
        String url = "jdbc:postgresql://" + HOST + ":" + PORT + "/" + DB;
        return DriverManager.getConnection(url, props);
    }

    static Connection connect() throws SQLException {
        return connect(1);
    }

    static void exec(Connection conn, String sql) throws SQLException {
        try (Statement st = conn.createStatement()) {
            st.execute(sql);
        }
    }

    static String row(ResultSet rs) throws SQLException {
        int n = rs.getMetaData().getColumnCount();
        StringBuilder sb = new StringBuilder("(");
        for (int i = 1; i <= n; i++) {
            sb.append(i > 1 ? ", " : "").append(rs.getString(i));
        }
        return sb.append(")").toString();
    }

    static String first(PreparedStatement ps) throws SQLException {
        try (ResultSet rs = ps.executeQuery()) {
            return rs.next() ? row(rs) : "(no row)";
        }
    }

    static String first(Connection conn, String sql) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement(sql)) {
            return first(ps);
        }
    }

    static String sqlstateOf(Connection conn, String sql) {
        try (Statement st = conn.createStatement()) {
            st.execute(sql);
            return "ok";
        } catch (SQLException e) {
            return e.getSQLState();
        }
    }

    /** Makes every step of a session case run on a different pooled server connection than the
     *  step before it (tests/drivers/python/driver_common.py, Rotator, says how): two helper
     *  clients leapfrog, the idle one opening a transaction (taking the server connection the
     *  last step used) before the other commits. They never name a statement. */
    static final class Rotator implements AutoCloseable {
        final Connection[] conns = new Connection[2];
        int holding = -1;

        Rotator() throws SQLException {
            for (int i = 0; i < conns.length; i++) {
                conns[i] = connect(0);
                conns[i].setAutoCommit(false);
            }
        }

        void turn() throws SQLException {
            int idle = holding < 0 ? 0 : 1 - holding;
            exec(conns[idle], "SELECT 1");  // autocommit off: BEGIN first
            if (holding >= 0) {
                conns[holding].commit();
            }
            holding = idle;
        }

        @Override
        public void close() throws SQLException {
            if (holding >= 0) {
                conns[holding].commit();
            }
            for (Connection c : conns) {
                c.close();
            }
        }
    }

    static int[] iterationValues(int client, int it) {
        int[] v = new int[ROWS_PER_ITERATION];
        for (int k = 0; k < ROWS_PER_ITERATION; k++) {
            v[k] = client * 1000 + it * 10 + k;
        }
        return v;
    }

    /** {count, sum} of a client's committed rows after `iterationsDone` iterations. */
    static long[] expected(int client, int iterationsDone) {
        long count = 0;
        long sum = 0;
        for (int it = 0; it < iterationsDone; it++) {
            if (it == ROLLED_BACK_ITERATION) {
                continue;
            }
            for (int v : iterationValues(client, it)) {
                count++;
                sum += v;
            }
        }
        return new long[] {count, sum};
    }

    static String pair(long a, long b) {
        return "(" + a + ", " + b + ")";
    }

    static String expectedRows(int client, int iterationsDone) {
        long[] e = expected(client, iterationsDone);
        return pair(e[0], e[1]);
    }

    static void runClients(Log log, int count, ClientBody body) throws InterruptedException {
        Log[] logs = new Log[count];
        CyclicBarrier ready = new CyclicBarrier(count);
        Thread[] threads = new Thread[count];
        for (int i = 0; i < count; i++) {
            final int client = i;
            logs[i] = new Log();
            threads[i] = new Thread(() -> {
                try {
                    body.run(logs[client], client, ready);
                } catch (Exception e) {
                    logs[client].unexpected(describe(e));
                    ready.reset();
                }
            });
            threads[i].setDaemon(true);
            threads[i].start();
        }
        for (Thread t : threads) {
            t.join();
        }
        for (int i = 0; i < count; i++) {
            for (String line : logs[i].snapshot()) {
                log.out(String.format("client %02d: %s", i, line));
            }
            if (logs[i].failed) {
                log.failed = true;
            }
        }
    }

    static void awaitReady(CyclicBarrier ready) {
        try {
            ready.await(CASE_TIMEOUT_S / 2, TimeUnit.SECONDS);
        } catch (Exception e) {
            // A client that failed to connect breaks the barrier; the others go on.
        }
    }

    static void concurrentClients(Log log) throws Exception {
        String table = name("items");
        try (Connection admin = connect()) {
            exec(admin, "CREATE TABLE " + table + " (client int, iter int, n int)");
        }
        runClients(log, CLIENTS, (clog, i, ready) -> {
            try (Connection conn = connect()) {
                String label = String.format("c%02d", i);
                exec(conn, "SET drv.client = '" + label + "'");
                PreparedStatement insert =
                    conn.prepareStatement("INSERT INTO " + table + " VALUES (?, ?, ?)");
                PreparedStatement totals = conn.prepareStatement(
                    "SELECT count(*), coalesce(sum(n), 0) FROM " + table + " WHERE client = ?");
                PreparedStatement ownRows = conn.prepareStatement(
                    "SELECT n FROM " + table + " WHERE client = ? ORDER BY n");
                PreparedStatement setting =
                    conn.prepareStatement("SELECT current_setting('drv.client')");
                awaitReady(ready);
                for (int it = 0; it < ITERATIONS; it++) {
                    try {
                        conn.setAutoCommit(false);
                        for (int v : iterationValues(i, it)) {
                            insert.setInt(1, i);
                            insert.setInt(2, it);
                            insert.setInt(3, v);
                            insert.addBatch();
                        }
                        insert.executeBatch();
                        totals.setInt(1, i);
                        String inside = first(totals);
                        if (it == ROLLED_BACK_ITERATION) {
                            conn.rollback();
                        } else {
                            conn.commit();
                        }
                        long[] before = expected(i, it);
                        long added = Arrays.stream(iterationValues(i, it)).sum();
                        clog.check("iteration " + it + " rows inside the transaction", inside,
                            pair(before[0] + ROWS_PER_ITERATION, before[1] + added), true);
                        // Own rows in pages of 5: a portal left open across Syncs.
                        ownRows.setFetchSize(5);
                        ownRows.setInt(1, i);
                        long count = 0;
                        long sum = 0;
                        try (ResultSet rs = ownRows.executeQuery()) {
                            while (rs.next()) {
                                count++;
                                sum += rs.getLong(1);
                            }
                        }
                        conn.commit();
                        clog.check("iteration " + it + " fetched rows", pair(count, sum),
                            expectedRows(i, it + 1), true);
                        conn.setAutoCommit(true);
                        clog.check("iteration " + it + " setting", first(setting),
                            "(" + label + ")", true);
                    } catch (SQLException e) {
                        clog.unexpected("iteration " + it + ": " + describe(e));
                        if (!conn.getAutoCommit()) {
                            conn.rollback();
                            conn.setAutoCommit(true);
                        }
                    }
                }
                totals.setInt(1, i);
                clog.check("committed rows", first(totals), expectedRows(i, ITERATIONS));
            }
        });
        try (Connection admin = connect()) {
            log.check("all rows",
                first(admin, "SELECT count(*), count(DISTINCT client) FROM " + table),
                "(" + CLIENTS * (ITERATIONS - 1) * ROWS_PER_ITERATION + ", " + CLIENTS + ")");
            exec(admin, "DROP TABLE " + table);
        }
    }

    static void fetchSizePortal(Log log) throws Exception {
        try (Connection conn = connect(); Rotator rot = new Rotator()) {
            conn.setAutoCommit(false);
            try (PreparedStatement ps =
                     conn.prepareStatement("SELECT g FROM generate_series(1, ?) g")) {
                ps.setFetchSize(10);
                ps.setInt(1, 95);
                long count = 0;
                long sum = 0;
                try (ResultSet rs = ps.executeQuery()) {
                    while (true) {
                        // Every 10th row the next page comes from the open portal: move the
                        // other clients' server connections around first.
                        if (count > 0 && count % 10 == 0) {
                            rot.turn();
                        }
                        boolean more = rs.next();
                        if (!more) {
                            break;
                        }
                        count++;
                        sum += rs.getLong(1);
                    }
                }
                log.check("rows through one portal", count + " rows, sum " + sum,
                    "95 rows, sum 4560");
            }
            // Two portals open at once in the same transaction, read in turns.
            try (PreparedStatement a =
                     conn.prepareStatement("SELECT g FROM generate_series(1, 9) g");
                 PreparedStatement b =
                     conn.prepareStatement("SELECT g * 10 FROM generate_series(1, 9) g")) {
                a.setFetchSize(4);
                b.setFetchSize(4);
                StringBuilder seen = new StringBuilder();
                try (ResultSet ra = a.executeQuery(); ResultSet rb = b.executeQuery()) {
                    boolean moreA = true;
                    boolean moreB = true;
                    while (moreA || moreB) {
                        if (moreA && (moreA = ra.next())) {
                            seen.append(ra.getInt(1)).append(' ');
                        }
                        if (moreB && (moreB = rb.next())) {
                            seen.append(rb.getInt(1)).append(' ');
                        }
                    }
                }
                log.check("two portals", seen.toString().trim(),
                    "1 10 2 20 3 30 4 40 5 50 6 60 7 70 8 80 9 90");
            }
            conn.commit();
        }
    }

    static void preparedReuse(Log log) throws Exception {
        try (Connection conn = connect(); Rotator rot = new Rotator();
             PreparedStatement ps = conn.prepareStatement("SELECT ?::int * 7")) {
            for (int k = 0; k < 4; k++) {
                rot.turn();
                ps.setInt(1, k);
                log.check("execution " + k, first(ps), "(" + k * 7 + ")");
            }
        }
    }

    static void batchError(Log log) throws Exception {
        String table = name("batch");
        try (Connection conn = connect()) {
            exec(conn, "CREATE TABLE " + table + " (v int CHECK (v > 0))");
            for (boolean autocommit : new boolean[] {true, false}) {
                conn.setAutoCommit(autocommit);
                String mode = autocommit ? "autocommit" : "transaction";
                try (PreparedStatement ps =
                         conn.prepareStatement("INSERT INTO " + table + " VALUES (?)")) {
                    for (int v : new int[] {1, 2, -3, 4, 5}) {
                        ps.setInt(1, v);
                        ps.addBatch();
                    }
                    String outcome = "ok";
                    try {
                        ps.executeBatch();
                    } catch (BatchUpdateException e) {
                        SQLException cause = e.getNextException();
                        outcome = e.getSQLState() + " / "
                            + (cause == null ? "no cause" : cause.getSQLState());
                    }
                    log.check(mode + ": batch with a bad row", outcome, "23514 / 23514");
                }
                if (!autocommit) {
                    log.check(mode + ": statement after the error",
                        sqlstateOf(conn, "SELECT 1"), "25P02");
                    conn.rollback();
                    conn.setAutoCommit(true);
                }
                log.check(mode + ": rows", first(conn, "SELECT count(*) FROM " + table), "(0)");
            }
            try (PreparedStatement ps =
                     conn.prepareStatement("INSERT INTO " + table + " VALUES (?)")) {
                for (int v : new int[] {6, 7, 8}) {
                    ps.setInt(1, v);
                    ps.addBatch();
                }
                log.check("good batch", Arrays.toString(ps.executeBatch()), "[1, 1, 1]");
            }
            log.check("rows after the good batch",
                first(conn, "SELECT count(*), sum(v) FROM " + table), "(3, 21)");
            exec(conn, "DROP TABLE " + table);
        }
    }

    static void sessionState(Log log) throws Exception {
        try (Connection conn = connect(); Rotator rot = new Rotator()) {
            rot.turn();
            exec(conn, "SET work_mem = '3456kB'");
            rot.turn();
            log.check("SET", first(conn, "SHOW work_mem"), "(3456kB)");
            rot.turn();
            exec(conn, "CREATE TEMP TABLE drv_tmpj (v int)");
            try (PreparedStatement ps = conn.prepareStatement("INSERT INTO drv_tmpj VALUES (?)")) {
                for (int v = 1; v <= 3; v++) {
                    rot.turn();
                    ps.setInt(1, v * 100);
                    ps.executeUpdate();
                }
            }
            rot.turn();
            log.check("temp rows", first(conn, "SELECT count(*), sum(v) FROM drv_tmpj"),
                "(3, 600)");
            rot.turn();
            exec(conn, "RESET ALL");
            rot.turn();
            log.check("RESET ALL", first(conn, "SHOW work_mem"), "(4MB)");
        }
    }

    public static void main(String[] args) throws Exception {
        Object[][] cases = {
            {"concurrent_clients", (CaseBody) PgjdbcCases::concurrentClients},
            {"fetch_size_portal", (CaseBody) PgjdbcCases::fetchSizePortal},
            {"prepared_reuse", (CaseBody) PgjdbcCases::preparedReuse},
            {"batch_error", (CaseBody) PgjdbcCases::batchError},
            {"session_state", (CaseBody) PgjdbcCases::sessionState},
        };
        boolean anyFailed = false;
        ExecutorService runner = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r);
            t.setDaemon(true);
            return t;
        });
        for (Object[] c : cases) {
            String caseName = (String) c[0];
            CaseBody body = (CaseBody) c[1];
            Log log = new Log();
            Future<?> done = runner.submit(() -> {
                try {
                    body.run(log);
                } catch (Exception e) {
                    log.unexpected(describe(e));
                    e.printStackTrace();
                }
            });
            try {
                done.get(CASE_TIMEOUT_S, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                log.unexpected("no result within " + CASE_TIMEOUT_S + " s");
            }
            for (String line : log.snapshot()) {
                System.out.println(caseName + " | " + line);
            }
            System.out.flush();
            anyFailed |= log.failed;
        }
        // Abandoned case threads may still block in the driver: exit without waiting for them.
        System.exit(anyFailed ? 1 : 0);
    }
}
