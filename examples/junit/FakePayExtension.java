// FakePayExtension: a fakepay server for JUnit 5 tests. One file, JDK 17 and JUnit 5 only: copy it
// into src/test/java (add your package line) and register it in a test class:
//
//     @RegisterExtension
//     static final FakePayExtension fakepay = new FakePayExtension();          // or ("lost-responses")
//
// The first test class that uses it starts `fakepay serve --port 0` (with the scenario, if given:
// a shipped scenario's name or a file relative to the working directory) and reads its URL from
// the banner; every class with the same scenario shares that server, and it is stopped when the
// test run ends. With FAKEPAY_URL set (environment or system property fakepay.url) every class
// uses the fakepay running there instead: a class with a scenario loads it there, and the server
// is put back on the scenario it was serving at the end.
//
// Before each test the server is reset to its scenario's start, with no random failures unless a
// scenario was given. The command is `fakepay` on the PATH, or FAKEPAY_COMMAND (environment or
// system property fakepay.command), e.g. "python3 -m fakepay" or "/opt/fakepay/.venv/bin/fakepay".
// A control token (FAKEPAY_CONTROL_TOKEN, or fakepay.controlToken) is sent on every control call.

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.math.BigDecimal;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

public final class FakePayExtension implements BeforeAllCallback, BeforeEachCallback {

    private static final Pattern BANNER = Pattern.compile("fakepay serving (http://\\S+) .*");
    private static final Pattern NOW = Pattern.compile("\"now\"\\s*:\\s*\"([^\"]+)\"");
    /** A scenario given as a bare name, with no folder or suffix: a shipped one unless a file has that name. */
    private static final Pattern SHIPPED_NAME = Pattern.compile("[^/\\\\.]+");
    private static final String JSON = "application/json";
    private static final String YAML = "application/yaml";
    /** The servers in use: one started per scenario, or the one at FAKEPAY_URL, shared by every class. */
    private static final Map<String, Server> SERVERS = new ConcurrentHashMap<>();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private final String scenario;

    /** A fakepay with no random failures. */
    public FakePayExtension() {
        this(null);
    }

    /** A fakepay serving {@code scenario}: a shipped scenario's name, or a file. */
    public FakePayExtension(String scenario) {
        this.scenario = scenario;
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        Server server = server();
        // The root store closes its resources when the whole test run ends.
        context.getRoot().getStore(ExtensionContext.Namespace.GLOBAL)
                .getOrComputeIfAbsent(Server.class.getName() + " " + server.url, key -> server);
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        reset();
    }

    /** The base URL of the payment API, e.g. {@code http://127.0.0.1:54321}. */
    public String url() {
        return server().url;
    }

    /** The API secret of {@code githubId}, as {@code GET /auth/{githubId}} issues it. */
    public String secret(String githubId) {
        return Server.body(server().exchange("GET", "/auth/" + segment(githubId), null, null));
    }

    /** Back to the start of this extension's scenario, with no random failures unless a scenario was given:
     *  the scenario is loaded again if a test loaded another, or if a class on another scenario used the
     *  fakepay at FAKEPAY_URL since. */
    public void reset() {
        Server server = server();
        synchronized (server) {
            if (server.serves(scenario)) {
                server.control("POST", "/reset", null);
            } else {
                if (scenario == null) {
                    server.control("PUT", "/scenario", server.startingScenario);
                } else {
                    server.load(scenario);
                }
                server.nowServes(scenario);
            }
            if (scenario == null) {
                setFailureRate(0);
            }
        }
    }

    /** Back to the scenario's start for one store only: its payments, journal and random stream. */
    public void reset(String owner) {
        server().control("POST", "/reset?owner=" + encode(owner), null);
    }

    /** Replaces the scenario until the next test (or {@link #reset()}): a shipped one by name, such as
     *  {@code "lost-responses"}, or a file, read here (relative to the working directory); returns
     *  {@code {"scenario": name, "seed": n}}. */
    public String loadScenario(String scenario) {
        Server server = server();
        synchronized (server) {
            server.replaced = true;
            return server.load(scenario);
        }
    }

    /** Replaces the scenario until the next test (or {@link #reset()}) with one written in YAML
     *  (docs/scenarios.md); returns {@code {"scenario": name, "seed": n}}. */
    public String loadScenarioYaml(String yaml) {
        Server server = server();
        synchronized (server) {
            server.replaced = true;
            return server.control("PUT", "/scenario", yaml, YAML);
        }
    }

    /** The next {@code n} instant payments fail with 500 PAYMENT_FAILED. */
    public String failNext(int n) {
        return failNext(n, "\"fail\"");
    }

    /** The next {@code n} instant payments get {@code outcome}, as JSON: {@code "\"lost_response\""}, {@code "{\"timeout_s\":3}"}. */
    public String failNext(int n, String outcome) {
        return failNext(n, outcome, null);
    }

    /** The next {@code n} instant payments of {@code owner} (null: anyone's) get {@code outcome}, as JSON. */
    public String failNext(int n, String outcome, String owner) {
        String when = owner == null ? "{\"operation\":\"instant\"}" : "{\"operation\":\"instant\",\"owner\":" + quote(owner) + "}";
        return addRule("{\"when\":" + when + ",\"then\":" + outcome + ",\"times\":" + n + "}");
    }

    /** Adds a rule ({@code {"when": ..., "then": ..., "times": ...}}); returns it as JSON. */
    public String addRule(String rule) {
        return server().control("POST", "/rules", rule);
    }

    /** Removes every rule, the scenario's included, until the next reset. */
    public String clearRules() {
        return server().control("DELETE", "/rules", null);
    }

    /** Changes part of the config until the next reset, e.g. {@code {"failure":{"rate":0.5}}}. */
    public String configure(String patch) {
        return server().control("PATCH", "/config", patch);
    }

    /** Makes {@code rate} (0 to 1) of instant payments fail at random, until the next reset. */
    public String setFailureRate(double rate) {
        return configure("{\"failure\":{\"rate\":" + rate + "}}");
    }

    /** Stores a PAID payment of {@code owner} as if it had been made now (store "store", order "order",
     *  1000 KRW); returns {@code {"payments": [it, with every field]}}. */
    public String seedPayment(String owner, String paymentId) {
        return seedPayments("{\"owner\":" + quote(owner) + ",\"paymentId\":" + quote(paymentId)
                + ",\"storeId\":\"store\",\"orderName\":\"order\",\"totalPayAmount\":1000,\"currency\":\"KRW\"}");
    }

    /** Stores payments as if they had been made: one JSON object or a list, with the fields of a scenario's
     *  {@code payments} ({@code status}, {@code paidAt}, ...); returns {@code {"payments": [...]}}. */
    public String seedPayments(String json) {
        return server().control("POST", "/payments", json);
    }

    /** One payment of {@code owner} with every field, as JSON, or null if there is none. */
    public String payment(String owner, String paymentId) {
        HttpResponse<String> response = server().exchange("GET", "/__fakepay/payments/" + segment(owner) + "/" + segment(paymentId), null, null);
        if (response.statusCode() == 404 && response.body().contains("\"PAYMENT_NOT_FOUND\"")) {
            return null;
        }
        return Server.body(response);
    }

    /** The journal as JSON ({@code {"requests": [...]}}), filtered: {@code requests("operation=instant", "owner=alice")}. */
    public String requests(String... filters) {
        List<String> query = new ArrayList<>();
        for (String filter : filters) {
            int equals = filter.indexOf('=');
            query.add(encode(filter.substring(0, equals)) + "=" + encode(filter.substring(equals + 1)));
        }
        return server().control("GET", "/requests" + (query.isEmpty() ? "" : "?" + String.join("&", query)), null);
    }

    /** Empties the journal. */
    public String clearRequests() {
        return server().control("DELETE", "/requests", null);
    }

    /** Config, rules, stores and every payment with every field, as JSON. */
    public String state() {
        return server().control("GET", "/state", null);
    }

    /** The same, of {@code owner}'s store only. */
    public String state(String owner) {
        return server().control("GET", "/state?owner=" + encode(owner), null);
    }

    /** Stops the clock at this moment, until the next reset; returns the time it shows. */
    public LocalDateTime freezeTime() {
        return moveClock("{\"freeze\":true}");
    }

    /** Sets the clock to {@code at} (the server's local time, as paidAt shows it) and stops it there,
     *  until the next reset; returns {@code at}. */
    public LocalDateTime freezeTime(LocalDateTime at) {
        return moveClock("{\"freeze\":\"" + at + "\"}");
    }

    /** Moves the clock by {@code duration}, stopped or running; returns the time it shows. */
    public LocalDateTime advanceTime(Duration duration) {
        BigDecimal milliseconds = BigDecimal.valueOf(duration.getSeconds()).scaleByPowerOfTen(3)
                .add(BigDecimal.valueOf(duration.getNano(), 6));
        return moveClock("{\"advance_ms\":" + milliseconds.toPlainString() + "}");
    }

    /** Back to the real time; returns it. */
    public LocalDateTime resumeTime() {
        return moveClock("{\"resume\":true}");
    }

    private LocalDateTime moveClock(String move) {
        String answer = server().control("POST", "/clock", move);
        Matcher now = NOW.matcher(answer);
        if (!now.find()) {
            throw new IllegalStateException("POST /__fakepay/clock answered no time: " + answer);
        }
        return LocalDateTime.parse(now.group(1));
    }

    private Server server() {
        String attach = setting("fakepay.url", "FAKEPAY_URL");
        if (attach != null && !attach.isBlank()) {
            return SERVERS.computeIfAbsent(attach.strip().replaceAll("/+$", ""), Server::attach);
        }
        return SERVERS.computeIfAbsent("started" + (scenario == null ? "" : " on " + scenario), key -> Server.launch(scenario));
    }

    private static String encode(String text) {
        return URLEncoder.encode(text, StandardCharsets.UTF_8);
    }

    /** {@code text} as one segment of a URL's path. */
    private static String segment(String text) {
        return encode(text).replace("+", "%20");
    }

    /** {@code text} as a JSON string. */
    private static String quote(String text) {
        StringBuilder json = new StringBuilder("\"");
        for (char c : text.toCharArray()) {
            if (c == '"' || c == '\\') {
                json.append('\\').append(c);
            } else if (c < 0x20) {
                json.append(String.format("\\u%04x", (int) c));
            } else {
                json.append(c);
            }
        }
        return json.append('"').toString();
    }

    private static String setting(String property, String variable) {
        String value = System.getProperty(property);
        return value != null && !value.isBlank() ? value : System.getenv(variable);
    }

    /** One fakepay: a process started here, or one found at FAKEPAY_URL. */
    private static final class Server implements ExtensionContext.Store.CloseableResource {
        final String url;
        private final Process process;
        private final String token = setting("fakepay.controlToken", "FAKEPAY_CONTROL_TOKEN");
        /** The scenario it served when started or found, as JSON: the start of a class without a scenario. */
        private String startingScenario;
        /** The scenario (null: none given) of the extension whose start it was last put on. */
        private String servedScenario;
        /** A test loaded a scenario of its own since. */
        private boolean replaced;

        private Server(String url, Process process, String servedScenario) {
            this.url = url;
            this.process = process;
            this.servedScenario = servedScenario;
        }

        static Server attach(String url) {
            Server server = new Server(url, null, null);
            server.startingScenario = server.control("GET", "/scenario", null);
            return server;
        }

        static Server launch(String scenario) {
            String command = setting("fakepay.command", "FAKEPAY_COMMAND");
            List<String> line = new ArrayList<>(List.of((command == null || command.isBlank() ? "fakepay" : command).trim().split("\\s+")));
            line.addAll(List.of("serve", "--port", "0"));
            if (scenario != null) {
                line.addAll(List.of("--scenario", scenario));
            }
            try {
                Path errors = Files.createTempFile("fakepay", ".err");
                errors.toFile().deleteOnExit();
                Process process = new ProcessBuilder(line).redirectError(errors.toFile()).start();
                BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
                String banner = out.readLine();
                Matcher matcher = BANNER.matcher(banner == null ? "" : banner);
                if (!matcher.matches()) {
                    process.waitFor(5, TimeUnit.SECONDS);
                    process.destroyForcibly();
                    throw new IllegalStateException(String.join(" ", line) + " did not start: " + Files.readString(errors).strip());
                }
                Server server = new Server(matcher.group(1), process, scenario);
                Runtime.getRuntime().addShutdownHook(new Thread(server::close));
                server.startingScenario = server.control("GET", "/scenario", null);
                return server;
            } catch (IOException e) {
                throw new IllegalStateException("cannot run '" + String.join(" ", line)
                        + "': put fakepay on the PATH or set FAKEPAY_COMMAND", e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }

        boolean serves(String scenario) {
            return !replaced && Objects.equals(servedScenario, scenario);
        }

        void nowServes(String scenario) {
            servedScenario = scenario;
            replaced = false;
        }

        /** Loads a shipped scenario by name, or a file read here; the control API's answer. */
        String load(String scenario) {
            Path file = Path.of(scenario);
            if (SHIPPED_NAME.matcher(scenario).matches() && !Files.isRegularFile(file)) {
                return control("POST", "/scenarios/" + segment(scenario), null);
            }
            try {
                return control("PUT", "/scenario", Files.readString(file), YAML);
            } catch (IOException e) {
                throw new IllegalArgumentException("no scenario '" + scenario + "': not a file (relative to "
                        + Path.of("").toAbsolutePath() + ") nor a shipped scenario's name", e);
            }
        }

        String control(String method, String path, String json) {
            return control(method, path, json, JSON);
        }

        String control(String method, String path, String body, String contentType) {
            return body(exchange(method, "/__fakepay" + path, body, contentType));
        }

        /** The body of a 200 answer; any other status is an IllegalStateException with the server's error. */
        static String body(HttpResponse<String> response) {
            if (response.statusCode() != 200) {
                throw new IllegalStateException(response.request().method() + " " + response.uri().getRawPath()
                        + (response.uri().getRawQuery() == null ? "" : "?" + response.uri().getRawQuery())
                        + ": " + response.statusCode() + " " + response.body());
            }
            return response.body();
        }

        HttpResponse<String> exchange(String method, String path, String body, String contentType) {
            HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url + path)).timeout(Duration.ofSeconds(30))
                    .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
            if (body != null) {
                request.header("Content-Type", contentType);
            }
            if (token != null && !token.isBlank() && path.startsWith("/__fakepay")) {
                request.header("Authorization", "Bearer " + token);
            }
            try {
                return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
            } catch (IOException e) {
                throw new IllegalStateException(method + " " + url + path + ": no answer from fakepay", e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }

        @Override
        public synchronized void close() {
            if (process == null && startingScenario != null) {
                control("PUT", "/scenario", startingScenario);  // the shared server as it was found
                startingScenario = null;
            }
            if (process != null && process.isAlive()) {
                process.destroy();
                try {
                    if (!process.waitFor(5, TimeUnit.SECONDS)) {
                        process.destroyForcibly();
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }
}
