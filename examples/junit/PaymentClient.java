// A shop's client of the CEOS payment server, written as a Spring Boot app's would be: DTO records
// bound by Jackson, LocalDateTime paidAt, a retry of a 5xx with the same paymentId, and a look-up
// when an answer is lost (connection closed, timeout) before paying again.

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.LocalDateTime;

public final class PaymentClient {

    public record PaymentRequest(String storeId, String orderName, long totalPayAmount, String currency, String customData) {}

    public record PaymentReceipt(String paymentId, LocalDateTime paidAt) {}

    public record Payment(String paymentId, String paymentStatus, String orderName, String pgProvider, String currency,
                          String customData, LocalDateTime paidAt) {}

    public record ErrorResponse(String type, String message) {}

    /** The payment was not made; {@code status} and {@code type} are the server's last answer (0 and null: none). */
    public static final class PaymentException extends RuntimeException {
        private static final long serialVersionUID = 1L;
        public final int status;
        public final String type;

        PaymentException(String message, int status, String type) {
            super(message);
            this.status = status;
            this.type = type;
        }
    }

    /** Spring Boot's ObjectMapper registers the JavaTimeModule; this client needs only LocalDateTime. */
    static final ObjectMapper JSON = new ObjectMapper()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .registerModule(new SimpleModule().addDeserializer(LocalDateTime.class, new JsonDeserializer<>() {
                @Override
                public LocalDateTime deserialize(JsonParser parser, DeserializationContext context) throws IOException {
                    return LocalDateTime.parse(parser.getValueAsString());
                }
            }));

    private final HttpClient http = HttpClient.newHttpClient();
    private final String baseUrl;
    private final String secret;
    private final Duration timeout;
    private final int attempts;

    public PaymentClient(String baseUrl, String secret, Duration timeout, int attempts) {
        this.baseUrl = baseUrl;
        this.secret = secret;
        this.timeout = timeout;
        this.attempts = attempts;
    }

    /** Pays {@code paymentId}, retrying a 5xx or a lost answer with the same id. */
    public PaymentReceipt pay(String paymentId, PaymentRequest order) {
        HttpResponse<String> last = null;
        for (int attempt = 1; attempt <= attempts; attempt++) {
            try {
                last = send(HttpRequest.newBuilder(uri("/payments/" + paymentId + "/instant"))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(order))));
            } catch (IOException lost) {  // closed unanswered, or no answer in time: did it go through?
                last = null;
                PaymentReceipt paid = paidEarlier(paymentId);
                if (paid != null) {
                    return paid;
                }
                continue;
            }
            if (last.statusCode() == 200) {
                return read(last, PaymentReceipt.class);
            }
            if (last.statusCode() == 409) {  // ALREADY_PAID: an earlier attempt's answer was lost
                PaymentReceipt paid = paidEarlier(paymentId);
                if (paid != null) {
                    return paid;
                }
            }
            if (last.statusCode() < 500) {
                throw failure(paymentId, last);
            }
        }
        if (last == null) {
            throw new PaymentException("payment " + paymentId + ": no answer after " + attempts + " attempts", 0, null);
        }
        throw failure(paymentId, last);
    }

    /** The payment, or null if the server has none with this id. */
    public Payment find(String paymentId) {
        try {
            HttpResponse<String> response = send(HttpRequest.newBuilder(uri("/payments/" + paymentId)).GET());
            if (response.statusCode() == 404) {
                return null;
            }
            if (response.statusCode() != 200) {
                throw failure(paymentId, response);
            }
            return read(response, Payment.class);
        } catch (IOException e) {
            throw new PaymentException("payment " + paymentId + ": look-up failed: " + e, 0, null);
        }
    }

    private PaymentReceipt paidEarlier(String paymentId) {
        Payment payment = find(paymentId);
        return payment != null && "PAID".equals(payment.paymentStatus()) ? new PaymentReceipt(paymentId, payment.paidAt()) : null;
    }

    private HttpResponse<String> send(HttpRequest.Builder request) throws IOException {
        try {
            return http.send(request.header("Authorization", "Bearer " + secret).timeout(timeout).build(),
                    HttpResponse.BodyHandlers.ofString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }

    private URI uri(String path) {
        return URI.create(baseUrl + path);
    }

    private static <T> T read(HttpResponse<String> response, Class<T> type) {
        try {
            return JSON.readValue(response.body(), type);
        } catch (IOException e) {
            throw new PaymentException("unreadable answer: " + response.body(), response.statusCode(), null);
        }
    }

    private static PaymentException failure(String paymentId, HttpResponse<String> response) {
        ErrorResponse error = read(response, ErrorResponse.class);
        return new PaymentException("payment " + paymentId + ": " + response.statusCode() + " " + error.type() + ": "
                + error.message(), response.statusCode(), error.type());
    }
}
