using EventGateway.Model;
using EventGateway.Model.Manifests;

namespace EventGateway.Events.EventSources;

/// <summary>
/// Load-time checks of an EventSource, by field path. Each source type has its own part
/// (in its folder); this part checks what they share.
/// </summary>
public sealed partial class EventSourceValidator : IKindValidator
{
    public static EventSourceValidator Instance { get; } = new();

    public IReadOnlyCollection<Type> Kinds { get; } = [typeof(EventSource)];

    void IKindValidator.Validate(Resource resource, Action<string, string> fail) => Validate((EventSource)resource, fail);

    public static void Validate(EventSource es, Action<string, string> fail)
    {
        var s = es.Spec;
        if (s.Unsupported is { Count: > 0 })
            foreach (var type in s.Unsupported.Keys)
                fail($"spec.{type}", $"event source type '{type}' is not supported here; supported: {string.Join(", ", SourceTypes.All)}");
        var total = (s.Webhook?.Count ?? 0) + (s.Github?.Count ?? 0) + (s.Minio?.Count ?? 0) + (s.S3?.Count ?? 0) + (s.Kafka?.Count ?? 0) + (s.Calendar?.Count ?? 0);
        if (total == 0 && s.Unsupported is not { Count: > 0 })
            fail("spec", $"no events: declare at least one event under one of {string.Join(", ", SourceTypes.All)}");

        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        void Each<T>(string type, Dictionary<string, T>? events, Action<string, T> check)
        {
            if (events is null) return;
            foreach (var (name, spec) in events)
            {
                var at = $"spec.{type}.{name}";
                if (names.TryGetValue(name, out var other)) fail(at, $"event name '{name}' is also declared under spec.{other}; names must be unique in an EventSource");
                else names[name] = type;
                if (spec is null) { fail(at, "missing: the event needs settings"); continue; }
                check(at, spec);
            }
        }
        Each(SourceTypes.Webhook, s.Webhook, (at, w) =>
        {
            ValidateWebhookContext(at, w.Context, fail);
            ValidateFilter(at, w.Filter, fail);
        });
        Each(SourceTypes.Github, s.Github, (at, g) => ValidateGithub(at, g, fail));
        Each(SourceTypes.Minio, s.Minio, (at, m) => ValidateS3(at, m, SourceTypes.Minio, fail));
        Each(SourceTypes.S3, s.S3, (at, m) => ValidateS3(at, m, SourceTypes.S3, fail));
        Each(SourceTypes.Kafka, s.Kafka, (at, k) => ValidateKafka(at, k, fail));
        Each(SourceTypes.Calendar, s.Calendar, (at, c) => ValidateCalendar(at, c, fail));
        ValidateS3Annotations(es, fail);
        ValidatePorts(es, fail);
    }

    static partial void ValidateGithub(string at, GithubEventSource spec, Action<string, string> fail);
    static partial void ValidateS3(string at, S3EventSource spec, string type, Action<string, string> fail);
    static partial void ValidateKafka(string at, KafkaEventSource spec, Action<string, string> fail);
    static partial void ValidateCalendar(string at, CalendarEventSource spec, Action<string, string> fail);

    private static readonly string[] Methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

    /// <summary>Checks a WebhookContext: port, endpoint, method, size limit, TLS pair, the deprecated file paths.</summary>
    public static void ValidateWebhookContext(string at, WebhookContext? c, Action<string, string> fail)
    {
        if (c is null) { fail(at, "missing: webhook settings (port, endpoint, method)"); return; }
        if (string.IsNullOrEmpty(c.Port)) fail($"{at}.port", "missing: the port to listen on");
        else if (!int.TryParse(c.Port, out var port) || port is < 1 or > 65535) fail($"{at}.port", $"'{c.Port}' is not a port number (1-65535)");
        if (string.IsNullOrEmpty(c.Endpoint)) fail($"{at}.endpoint", "missing: the path to serve, e.g. /push");
        else if (!c.Endpoint.StartsWith('/')) fail($"{at}.endpoint", $"'{c.Endpoint}' must start with '/'");
        else if (c.Endpoint == "/health") fail($"{at}.endpoint", "/health is reserved for the listener's health check");
        if (c.Method is not null && !Methods.Contains(c.Method.ToUpperInvariant()))
            fail($"{at}.method", $"'{c.Method}' is not an HTTP method; expected one of {string.Join(", ", Methods)}");
        if (c.MaxPayloadSize is <= 0) fail($"{at}.maxPayloadSize", $"must be a positive number of bytes, got {c.MaxPayloadSize}");
        if ((c.ServerCertSecret is null) != (c.ServerKeySecret is null))
            fail($"{at}.{(c.ServerCertSecret is null ? "serverCertSecret" : "serverKeySecret")}", "TLS needs both serverCertSecret and serverKeySecret");
        if (c.ServerCertPath is not null || c.ServerKeyPath is not null)
            fail($"{at}.{(c.ServerCertPath is not null ? "serverCertPath" : "serverKeyPath")}", "file paths on the pod are deprecated in Argo and not read here; use serverCertSecret and serverKeySecret");
        ValidateSelector($"{at}.authSecret", c.AuthSecret, fail);
        ValidateSelector($"{at}.serverCertSecret", c.ServerCertSecret, fail);
        ValidateSelector($"{at}.serverKeySecret", c.ServerKeySecret, fail);
    }

    public static void ValidateSelector(string at, SecretKeySelector? s, Action<string, string> fail)
    {
        if (s is null) return;
        if (string.IsNullOrEmpty(s.Name)) fail($"{at}.name", "missing: the Secret's name");
        if (string.IsNullOrEmpty(s.Key)) fail($"{at}.key", "missing: the key within the Secret");
    }

    public static void ValidateFilter(string at, EventSourceFilter? filter, Action<string, string> fail)
    {
        if (filter?.Expression is not { } e) return;
        if (EventFilter.Validate(e) is { } why) fail($"{at}.filter.expression", $"not a valid expression: {why}");
    }

    /// <summary>Two events of one source on the same port and endpoint cannot both be served.</summary>
    private static void ValidatePorts(EventSource es, Action<string, string> fail)
    {
        var seen = new Dictionary<(string, string), string>();
        void Check(string at, WebhookContext? c)
        {
            if (c?.Port is null || c.Endpoint is null) return;
            if (seen.TryGetValue((c.Port, c.Endpoint), out var other)) fail($"{at}.endpoint", $"port {c.Port} endpoint {c.Endpoint} is also used by {other}");
            else seen[(c.Port, c.Endpoint)] = at;
        }
        foreach (var (n, w) in es.Spec.Webhook ?? []) Check($"spec.webhook.{n}", w?.Context);
        foreach (var (n, g) in es.Spec.Github ?? []) Check($"spec.github.{n}.webhook", g?.Webhook);
    }
}
