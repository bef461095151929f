using System.Text.Json.Nodes;

namespace EventGateway.Server.Kubernetes;

/// <summary>
/// What an EventBus object read from the cluster means for this service, said on its status with Argo Events'
/// conditions (Configured, Deployed). The service's bus is chosen when it starts (<c>--event-bus nats://HOST:PORT</c>,
/// else the embedded log) and is not switched at runtime: Sensors' checkpoints are positions in the current log and
/// a change of bus mid-run would replay or skip events, so the manifest form (an EventBus file) is refused in the
/// embedded mode and here each EventBus says whether it is the bus in use and, if not, the flag that would make it so.
/// An EventBus maps onto a NATS JetStream URL: <c>spec.jetstreamExotic.url</c> as written, <c>spec.jetstream</c> the
/// service Argo Events' controller creates for it (<c>nats://eventbus-NAME-js-svc.NAMESPACE.svc:4222</c>); NATS
/// streaming (<c>spec.nats</c>) and Kafka are not buses this service can use.
/// </summary>
public static class EventBusChoice
{
    /// <summary>The JetStream URL the EventBus stands for, or null with the reason it has none.</summary>
    public static (string? Url, string? Problem) UrlOf(JsonObject bus)
    {
        var spec = bus["spec"] as JsonObject;
        var name = bus["metadata"]?["name"]?.GetValue<string>() ?? "";
        var ns = bus["metadata"]?["namespace"]?.GetValue<string>() ?? "default";
        if (spec?["jetstreamExotic"] is JsonObject exotic)
            return exotic["url"]?.GetValue<string>() is { Length: > 0 } url ? (url, null) : (null, "spec.jetstreamExotic.url is missing");
        if (spec?["jetstream"] is JsonObject) return ($"nats://eventbus-{name}-js-svc.{ns}.svc:4222", null);
        if (spec?["nats"] is not null) return (null, "spec.nats (NATS Streaming) is not supported: egw's shared bus is NATS JetStream (spec.jetstream or spec.jetstreamExotic)");
        if (spec?["kafka"] is not null) return (null, "spec.kafka is not supported: egw's shared bus is NATS JetStream (spec.jetstream or spec.jetstreamExotic)");
        return (null, "the spec names no bus: expected spec.jetstream or spec.jetstreamExotic");
    }

    public static IReadOnlyList<ClusterStatusWriter.Condition> Conditions(JsonObject bus, string? serviceBus)
    {
        var (url, problem) = UrlOf(bus);
        if (url is null)
            return [new("Configured", "False", "InvalidSpec", problem), new("Deployed", "False", "NotInUse", "not a bus this service can use")];
        var configured = new ClusterStatusWriter.Condition("Configured", "True", null, null);
        if (serviceBus is not null && Same(url, serviceBus))
            return [configured, new("Deployed", "True", "InUse", $"this service's event log is this JetStream bus (egw serve --event-bus {serviceBus})")];
        var now = serviceBus is null ? "its event log is the embedded one in its data directory" : $"it uses --event-bus {serviceBus}";
        return [configured, new("Deployed", "False", "NotInUse",
            $"not in use: egw serve chooses its bus when it starts and {now}; to use this one, restart it with --event-bus {url} (a running service does not switch buses: Sensors' checkpoints are positions in the current log)")];
    }

    /// <summary>nats://HOST:PORT compared as URLs (host case, a default port 4222 left out).</summary>
    private static bool Same(string a, string b) =>
        Uri.TryCreate(a, UriKind.Absolute, out var x) && Uri.TryCreate(b, UriKind.Absolute, out var y)
        && string.Equals(x.Scheme, y.Scheme, StringComparison.OrdinalIgnoreCase) && string.Equals(x.Host, y.Host, StringComparison.OrdinalIgnoreCase)
        && (x.IsDefaultPort ? 4222 : x.Port) == (y.IsDefaultPort ? 4222 : y.Port);
}
