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
// uses the fakepay running there instead.
//
// Each extension keeps its calls and its secrets in a sandbox of its own on that server
// (docs/sandboxes.md), on its scenario: the server's own with no random failures, or the one given.
// Before each test the sandbox is reset to the scenario's start; a test that JUnit runs concurrently
// with others of its class gets a new sandbox instead, for the calls made on its thread. A test's
// sandbox is deleted when the test ends, the extension's when the test run ends. The command is
// `fakepay` on the PATH, or FAKEPAY_COMMAND (environment or system property fakepay.command), e.g.
// "python3 -m fakepay" or "/opt/fakepay/.venv/bin/fakepay". A control token (FAKEPAY_CONTROL_TOKEN,
// or fakepay.controlToken) is sent on every control call.

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
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.parallel.ExecutionMode;

public final class FakePayExtension implements BeforeAllCallback, BeforeEachCallback, AfterEachCallback {

    private static final Pattern BANNER = Pattern.compile("fakepay serving (http://\\S+) .*");
    /** The secret in the control API's answer to {@code GET /secrets/{owner}}, as JSON writes it. */
    private static final Pattern SECRET = Pattern.compile("\"secret\":\"((?:[^\"\\\\]|\\\\.)*)\"");
    /** A scenario given as a bare name, with no folder or suffix: a shipped one unless a file has that name. */
    private static final Pattern SHIPPED_NAME = Pattern.compile("[^/\\\\.]+");
    private static final String JSON = "application/json";
    private static final String YAML = "application/yaml";
    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(FakePayExtension.class);
    /** The servers in use: one started per scenario, or the one at FAKEPAY_URL, shared by every class. */
    private static final Map<String, Server> SERVERS = new ConcurrentHashMap<>();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private final String scenario;
    /** The sandbox of the classes that register this extension, made when first needed. */
    private Sandbox classSandbox;
    /** The sandbox of the test running on each thread. */
    private final ThreadLocal<Sandbox> running = new ThreadLocal<>();
    /** A call was made outside a test (by a Spring context starting, in a static @BeforeAll): in the extension's sandbox. */
    private volatile boolean calledOutsideATest;

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
        Sandbox sandbox;
        if (runsConcurrently(context)) {
            if (calledOutsideATest) {
                throw new IllegalStateException("FakePayExtension: " + context.getRequiredTestClass().getSimpleName()
                        + "'s tests run concurrently, each in a sandbox of its own, so what was asked outside a test"
                        + " (a secret taken for a Spring context or in @BeforeAll) reaches none of them: ask in the test"
                        + " or in @BeforeEach, or run the class's tests one at a time with @Execution(ExecutionMode.SAME_THREAD)");
            }
            sandbox = Sandbox.make(server(), scenario);
            context.getStore(NAMESPACE).put(this, sandbox);  // deleted when the test ends
        } else {
            sandbox = classSandbox();
            sandbox.reset();
        }
        running.set(sandbox);
    }

    @Override
    public void afterEach(ExtensionContext context) {
        running.remove();
    }

    /** The base URL of the payment API, e.g. {@code http://127.0.0.1:54321}. */
    public String url() {
        return server().url;
    }

    /** The API secret of {@code githubId} (of the CEOS API: as {@code GET /auth/{githubId}} issues it; of PortOne V2:
     *  the owner's secret) in the sandbox of this test (outside a test, the extension's): the app's requests made with
     *  it go there. */
    public String secret(String githubId) {
        return sandbox().secret(githubId);
    }

    /** Back to the start of this extension's scenario, with no random failures unless a scenario was given:
     *  the scenario is loaded again if a test loaded another. */
    public void reset() {
        sandbox().reset();
    }

    /** Back to the scenario's start for one store only: its payments, journal and random stream. */
    public void reset(String owner) {
        sandbox().control("POST", "/reset?owner=" + encode(owner), null);
    }

    /** Replaces the scenario until the next test (or {@link #reset()}): a shipped one by name, such as
     *  {@code "lost-responses"}, or a file, read here (relative to the working directory); returns
     *  {@code {"scenario": name, "seed": n}}. */
    public String loadScenario(String scenario) {
        return sandbox().replace(scenario);
    }

    /** Replaces the scenario until the next test (or {@link #reset()}) with one written in YAML
     *  (docs/scenarios.md); returns {@code {"scenario": name, "seed": n}}. */
    public String loadScenarioYaml(String yaml) {
        return sandbox().replaceWithYaml(yaml);
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
        return sandbox().control("POST", "/rules", rule);
    }

    /** Removes every rule, the scenario's included, until the next reset. */
    public String clearRules() {
        return sandbox().control("DELETE", "/rules", null);
    }

    /** Changes part of the config until the next reset, e.g. {@code {"failure":{"rate":0.5}}}. */
    public String configure(String patch) {
        return sandbox().control("PATCH", "/config", patch);
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
        return sandbox().control("POST", "/payments", json);
    }

    /** One payment of {@code owner} with every field, as JSON, or null if there is none. */
    public String payment(String owner, String paymentId) {
        HttpResponse<String> response = sandbox().exchange("GET", "/payments/" + segment(owner) + "/" + segment(paymentId), null, null);
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
        return sandbox().control("GET", "/requests" + (query.isEmpty() ? "" : "?" + String.join("&", query)), null);
    }

    /** Empties the journal. */
    public String clearRequests() {
        return sandbox().control("DELETE", "/requests", null);
    }

    /** Config, rules, stores and every payment with every field, as JSON. */
    public String state() {
        return sandbox().control("GET", "/state", null);
    }

    /** The same, of {@code owner}'s store only. */
    public String state(String owner) {
        return sandbox().control("GET", "/state?owner=" + encode(owner), null);
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
        return LocalDateTime.parse(field(sandbox().control("POST", "/clock", move), "now", "POST /__fakepay/clock"));
    }

    /** The sandbox of the test running on this thread; elsewhere (a Spring context starting, a static
     *  {@code @BeforeAll}), the extension's own. */
    private Sandbox sandbox() {
        Sandbox test = running.get();
        if (test != null) {
            return test;
        }
        calledOutsideATest = true;
        return classSandbox();
    }

    private synchronized Sandbox classSandbox() {
        if (classSandbox == null) {
            classSandbox = Sandbox.make(server(), scenario);
        }
        return classSandbox;
    }

    private Server server() {
        String attach = setting("fakepay.url", "FAKEPAY_URL");
        if (attach != null && !attach.isBlank()) {
            return SERVERS.computeIfAbsent(attach.strip().replaceAll("/+$", ""), Server::attach);
        }
        return SERVERS.computeIfAbsent("started" + (scenario == null ? "" : " on " + scenario), key -> Server.launch(scenario));
    }

    /** JUnit runs {@code test} alongside other tests of its class (junit.jupiter.execution.parallel.*). */
    private static boolean runsConcurrently(ExtensionContext test) {
        return test.getExecutionMode() == ExecutionMode.CONCURRENT
                && test.getConfigurationParameter("junit.jupiter.execution.parallel.enabled", Boolean::parseBoolean).orElse(false);
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

    /** The string {@code name} of the JSON object {@code json} that {@code call} answered. */
    private static String field(String json, String name, String call) {
        Matcher value = Pattern.compile("\"" + name + "\"\\s*:\\s*\"([^\"]+)\"").matcher(json);
        if (!value.find()) {
            throw new IllegalStateException(call + " answered no " + name + ": " + json);
        }
        return value.group(1);
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
        /** The sandboxes made on it and not deleted yet. */
        final Set<Sandbox> sandboxes = ConcurrentHashMap.newKeySet();

        private Server(String url, Process process) {
            this.url = url;
            this.process = process;
        }

        static Server attach(String url) {
            return new Server(url, null);
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
                Server server = new Server(matcher.group(1), process);
                Runtime.getRuntime().addShutdownHook(new Thread(server::close));
                return server;
            } catch (IOException e) {
                throw new IllegalStateException("cannot run '" + String.join(" ", line)
                        + "': put fakepay on the PATH or set FAKEPAY_COMMAND", e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }

        /** A control call: {@code path} under {@code /__fakepay}; the answer's body. */
        String control(String method, String path, String body, String contentType) {
            return body(exchange(method, "/__fakepay" + path, body, contentType, null));
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

        /** A request, of the API in {@code sandbox} (null: none named) or of the control API. */
        HttpResponse<String> exchange(String method, String path, String body, String contentType, String sandbox) {
            HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url + path)).timeout(Duration.ofSeconds(30))
                    .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
            if (body != null) {
                request.header("Content-Type", contentType);
            }
            if (token != null && !token.isBlank() && path.startsWith("/__fakepay")) {
                request.header("Authorization", "Bearer " + token);
            }
            if (sandbox != null) {
                request.header("Fakepay-Sandbox", sandbox);
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
            if (process == null) {
                sandboxes.forEach(Sandbox::close);  // the fakepay at FAKEPAY_URL keeps none of them
            } else if (process.isAlive()) {
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

    /** A sandbox on a fakepay server: an extension's, or one test's. */
    private static final class Sandbox implements ExtensionContext.Store.CloseableResource {
        final Server server;
        final String id;
        /** Its scenario as it was made, as JSON: where a reset takes it back after a test loaded another. */
        private String start;
        /** A test loaded a scenario of its own since the last reset. */
        private boolean replaced;

        private Sandbox(Server server, String id) {
            this.server = server;
            this.id = id;
        }

        /** A new sandbox on {@code server}, on {@code scenario}: a shipped one's name or a file; null: the server's
         *  own, with no random failures. */
        /** A new sandbox: on a shipped scenario made from it (of whichever API it is), else loaded with it. */
        static Sandbox make(Server server, String scenario) {
            boolean shipped = scenario != null && shipped(scenario);
            String body = scenario == null ? "{\"failure_rate\":0}"
                    : shipped ? "{\"scenario\":\"" + scenario.replace("\\", "\\\\").replace("\"", "\\\"") + "\"}" : null;
            String made = server.control("POST", "/sandboxes", body, JSON);
            Sandbox sandbox = new Sandbox(server, field(made, "id", "POST /__fakepay/sandboxes"));
            server.sandboxes.add(sandbox);
            if (scenario != null && !shipped) {
                sandbox.load(scenario);
            }
            sandbox.start = sandbox.control("GET", "/scenario", null);
            return sandbox;
        }

        synchronized void reset() {
            if (replaced) {
                control("PUT", "/scenario", start);
                replaced = false;
            } else {
                control("POST", "/reset", null);
            }
        }

        /** Loads another scenario until the next reset: a shipped one by name, or a file read here. */
        synchronized String replace(String scenario) {
            replaced = true;
            return load(scenario);
        }

        /** Loads a scenario written in YAML until the next reset. */
        synchronized String replaceWithYaml(String yaml) {
            replaced = true;
            return control("PUT", "/scenario", yaml, YAML);
        }

        /** Loads a shipped scenario by name, or a file read here; the control API's answer. */
        /** Whether {@code scenario} names a shipped scenario rather than a file. */
        static boolean shipped(String scenario) {
            return SHIPPED_NAME.matcher(scenario).matches() && !Files.isRegularFile(Path.of(scenario));
        }

        private String load(String scenario) {
            if (shipped(scenario)) {
                return control("POST", "/scenarios/" + segment(scenario), null);
            }
            try {
                return control("PUT", "/scenario", Files.readString(Path.of(scenario)), YAML);
            } catch (IOException e) {
                throw new IllegalArgumentException("no scenario '" + scenario + "': not a file (relative to "
                        + Path.of("").toAbsolutePath() + ") nor a shipped scenario's name", e);
            }
        }

        String secret(String githubId) {
            Matcher secret = SECRET.matcher(control("GET", "/secrets/" + segment(githubId), null));
            if (!secret.find()) {
                throw new IllegalStateException("GET /__fakepay/secrets/" + githubId + ": no secret in the answer");
            }
            return secret.group(1).replace("\\\"", "\"").replace("\\/", "/").replace("\\\\", "\\");
        }

        /** A control call in this sandbox: {@code path} under {@code /__fakepay/sandboxes/{id}}; the answer's body. */
        String control(String method, String path, String json) {
            return control(method, path, json, JSON);
        }

        String control(String method, String path, String body, String contentType) {
            return Server.body(exchange(method, path, body, contentType));
        }

        HttpResponse<String> exchange(String method, String path, String body, String contentType) {
            return server.exchange(method, "/__fakepay/sandboxes/" + id + path, body, contentType, null);
        }

        /** Deleted, unless it is already (or it expired, idle). */
        @Override
        public void close() {
            if (server.sandboxes.remove(this)) {
                HttpResponse<String> response = server.exchange("DELETE", "/__fakepay/sandboxes/" + id, null, null, null);
                if (response.statusCode() != 404) {
                    Server.body(response);
                }
            }
        }
    }
}
