using EventGateway.Events.EventSources.S3;
using EventGateway.Model;
using EventGateway.Model.Manifests;

namespace EventGateway.Events.EventSources;

/// <summary>
/// Load-time checks of an EventSource, by field path. Each event's settings are checked by its
/// <see cref="IEventSourceType"/>; this class checks what spans them: the types and event names
/// declared, HTTP ports and endpoints, the S3 delivery annotations.
/// </summary>
public sealed class EventSourceValidator : IKindValidator
{
    public static EventSourceValidator Instance { get; } = new();

    public IReadOnlyCollection<Type> Kinds { get; } = [typeof(EventSource)];

    void IKindValidator.Validate(Resource resource, Action<string, string> fail) => Validate((EventSource)resource, fail);

    public static void Validate(EventSource es, Action<string, string> fail)
    {
        var s = es.Spec;
        if (s.Unsupported is { Count: > 0 })
            foreach (var type in s.Unsupported.Keys)
                fail($"spec.{type}", $"event source type '{type}' is not supported here; supported: {string.Join(", ", SourceTypes.Names)}");
        var events = SourceTypes.All.SelectMany(t => t.EventsIn(s)).ToList();
        if (events.Count == 0 && s.Unsupported is not { Count: > 0 })
            fail("spec", $"no events: declare at least one event under one of {string.Join(", ", SourceTypes.Names)}");

        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var e in events)
        {
            var at = $"spec.{e.Type.Name}.{e.Name}";
            if (names.TryGetValue(e.Name, out var other)) fail(at, $"event name '{e.Name}' is also declared under spec.{other}; names must be unique in an EventSource");
            else names[e.Name] = e.Type.Name;
            if (!e.HasSettings) { fail(at, "missing: the event needs settings"); continue; }
            e.Validate(at, fail);
        }
        ValidateS3Annotations(es, fail);
        ValidatePorts(es, fail);
    }

    /// <summary>
    /// The <c>eventgateway.io/s3-*</c> annotations of an EventSource with minio or s3 events: their
    /// values, the events polling can see, and notification endpoints that would collide.
    /// </summary>
    public static void ValidateS3Annotations(EventSource es, Action<string, string> fail)
    {
        var events = (es.Spec.Minio ?? []).Select(e => (Type: S3SourceType.Minio.Name, e.Key, e.Value))
            .Concat((es.Spec.S3 ?? []).Select(e => (Type: S3SourceType.S3.Name, e.Key, e.Value))).ToList();
        if (events.Count == 0) return;
        var delivery = S3Delivery.Read(es.Metadata.Annotations, fail);

        if (delivery.Polls)
        {
            foreach (var (type, name, spec) in events)
            {
                var list = spec?.Events ?? [];
                for (var i = 0; i < list.Count; i++)
                    if (S3EventNames.IsKnown(list[i] ?? "") && !S3EventNames.Matches(list[i], S3EventNames.Put) && !S3EventNames.Matches(list[i], S3EventNames.Delete))
                        fail($"spec.{type}.{name}.events[{i}]",
                            $"'{list[i]}' cannot be seen by polling the bucket, which reports only {S3EventNames.Put} and {S3EventNames.Delete}; "
                            + $"receive S3 notifications instead by setting the annotation {S3Delivery.NotificationPortAnnotation}");
            }
            return;
        }

        var port = delivery.NotificationPort!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var taken = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (n, w) in es.Spec.Webhook ?? []) if (w?.Port == port && w.Endpoint is not null) taken.TryAdd(w.Endpoint, $"spec.webhook.{n}");
        foreach (var (n, g) in es.Spec.Github ?? []) if (g?.Webhook?.Port == port && g.Webhook.Endpoint is not null) taken.TryAdd(g.Webhook.Endpoint, $"spec.github.{n}.webhook");
        foreach (var (type, name, _) in events)
        {
            var endpoint = delivery.EndpointFor(name);
            var at = $"spec.{type}.{name}";
            if (taken.TryGetValue(endpoint, out var other))
                fail(at, $"notifications on port {port} endpoint {endpoint} collide with {other}; "
                    + $"give each event its own path (drop {S3Delivery.NotificationEndpointAnnotation} to use /<eventName>)");
            else taken[endpoint] = at;
        }
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
