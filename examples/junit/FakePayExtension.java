// FakePayExtension: a fakepay server for JUnit 5 tests. One file, JDK 17 and JUnit 5 only: copy it
// into src/test/java (add your package line) and register it in a test class:
//
//     @RegisterExtension
//     static final FakePayExtension fakepay = new FakePayExtension();          // or ("lost-responses")
//
// The first test class that uses it starts `fakepay serve --port 0` (with the scenario, if given:
// a shipped scenario's name or a file relative to the working directory) and reads its URL from
// the banner; every class with the same scenario shares that server, and it is stopped when the
// test run ends. With FAKEPAY_URL set (environment or system property fakepay.url) it uses the
// fakepay running there instead, and puts that server back on its scenario at the end.
//
// Before each test the server is reset to its scenario's start, with no random failures unless a
// scenario was given. The command is `fakepay` on the PATH, or FAKEPAY_COMMAND (environment or
// system property fakepay.command), e.g. "python3 -m fakepay" or "/opt/fakepay/.venv/bin/fakepay".
// A control token (FAKEPAY_CONTROL_TOKEN, or fakepay.controlToken) is sent on every control call.

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

public final class FakePayExtension implements BeforeAllCallback, BeforeEachCallback {

    private static final Pattern BANNER = Pattern.compile("fakepay serving (http://\\S+) .*");
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
                .getOrComputeIfAbsent(Server.class.getName() + ":" + scenario, key -> server);
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
        return server().send("GET", "/auth/" + githubId, null);
    }

    /** Back to the scenario's start (and no random failures unless a scenario was given). */
    public void reset() {
        Server server = server();
        server.control("POST", "/reset", null);
        if (scenario == null) {
            server.control("PATCH", "/config", "{\"failure\":{\"rate\":0}}");
        }
    }

    /** Back to the scenario's start for one store only: its payments, journal and random stream. */
    public void reset(String owner) {
        server().control("POST", "/reset?owner=" + encode(owner), null);
    }

    /** The next {@code n} instant payments fail with 500 PAYMENT_FAILED. */
    public String failNext(int n) {
        return failNext(n, "\"fail\"");
    }

    /** The next {@code n} instant payments get {@code outcome}, as JSON: {@code "\"lost_response\""}, {@code "{\"timeout_s\":3}"}. */
    public String failNext(int n, String outcome) {
        return addRule("{\"when\":{\"operation\":\"instant\"},\"then\":" + outcome + ",\"times\":" + n + "}");
    }

    /** Adds a rule ({@code {"when": ..., "then": ..., "times": ...}}); returns it as JSON. */
    public String addRule(String rule) {
        return server().control("POST", "/rules", rule);
    }

    /** Changes part of the config until the next reset, e.g. {@code {"failure":{"rate":0.5}}}. */
    public String configure(String patch) {
        return server().control("PATCH", "/config", patch);
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

    /** Config, rules, stores and every payment with every field, as JSON. */
    public String state() {
        return server().control("GET", "/state", null);
    }

    private Server server() {
        return SERVERS.computeIfAbsent(String.valueOf(scenario), key -> Server.open(scenario));
    }

    private static String encode(String text) {
        return URLEncoder.encode(text, StandardCharsets.UTF_8);
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
        private String found;

        private Server(String url, Process process) {
            this.url = url;
            this.process = process;
        }

        static Server open(String scenario) {
            String attach = setting("fakepay.url", "FAKEPAY_URL");
            if (attach != null && !attach.isBlank()) {
                if (scenario != null) {
                    throw new IllegalStateException("FAKEPAY_URL is set: start that fakepay with --scenario " + scenario);
                }
                Server server = new Server(attach.replaceAll("/+$", ""), null);
                server.found = server.control("GET", "/scenario", null);
                return server;
            }
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

        String control(String method, String path, String json) {
            return send(method, "/__fakepay" + path, json);
        }

        String send(String method, String path, String json) {
            HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url + path)).timeout(Duration.ofSeconds(30))
                    .method(method, json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json));
            if (json != null) {
                request.header("Content-Type", "application/json");
            }
            if (token != null && !token.isBlank() && path.startsWith("/__fakepay")) {
                request.header("Authorization", "Bearer " + token);
            }
            try {
                HttpResponse<String> response = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
                if (response.statusCode() != 200) {
                    throw new IllegalStateException(method + " " + path + ": " + response.statusCode() + " " + response.body());
                }
                return response.body();
            } catch (IOException e) {
                throw new IllegalStateException(method + " " + url + path + ": no answer from fakepay", e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }

        @Override
        public synchronized void close() {
            if (found != null) {
                control("PUT", "/scenario", found);  // the shared server as it was found
                found = null;
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
