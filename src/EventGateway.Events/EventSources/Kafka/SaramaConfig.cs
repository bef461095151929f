using System.Globalization;
using System.Text.Json;
using EventGateway.Model.Manifests;

namespace EventGateway.Events.EventSources.Kafka;

/// <summary>
/// Argo's <c>config</c>: sarama.Config as YAML (e.g. <c>consumer: {fetch: {min: 1}}</c>). Settings with a
/// librdkafka equivalent are translated; the rest (sarama internals such as channel sizes) have no
/// meaning here and are reported as ignored. Field names match case-insensitively and durations are
/// integer nanoseconds (or Go duration strings), as sarama reads them.
/// </summary>
public static class SaramaConfig
{
    private enum Kind { Text, Count, Milliseconds, InitialOffset, Isolation }

    private static readonly Dictionary<string, (string Key, Kind Kind)> Known = new(StringComparer.OrdinalIgnoreCase)
    {
        ["clientID"] = ("client.id", Kind.Text),
        ["rackID"] = ("client.rack", Kind.Text),
        ["net.maxOpenRequests"] = ("max.in.flight.requests.per.connection", Kind.Count),
        ["net.dialTimeout"] = ("socket.connection.setup.timeout.ms", Kind.Milliseconds),
        ["net.readTimeout"] = ("socket.timeout.ms", Kind.Milliseconds),
        ["metadata.refreshFrequency"] = ("topic.metadata.refresh.interval.ms", Kind.Milliseconds),
        ["consumer.fetch.min"] = ("fetch.min.bytes", Kind.Count),
        ["consumer.fetch.default"] = ("max.partition.fetch.bytes", Kind.Count),
        ["consumer.fetch.max"] = ("fetch.max.bytes", Kind.Count),
        ["consumer.maxWaitTime"] = ("fetch.wait.max.ms", Kind.Milliseconds),
        ["consumer.retry.backoff"] = ("fetch.error.backoff.ms", Kind.Milliseconds),
        ["consumer.group.session.timeout"] = ("session.timeout.ms", Kind.Milliseconds),
        ["consumer.group.heartbeat.interval"] = ("heartbeat.interval.ms", Kind.Milliseconds),
        ["consumer.offsets.autoCommit.interval"] = ("auto.commit.interval.ms", Kind.Milliseconds),
        ["consumer.offsets.initial"] = ("auto.offset.reset", Kind.InitialOffset),
        ["consumer.isolationLevel"] = ("isolation.level", Kind.Isolation),
    };

    /// <summary>The librdkafka settings the YAML maps to, and the sarama paths that have none.</summary>
    /// <exception cref="FormatException">not YAML, not a mapping, or a value of the wrong type; the message says which.</exception>
    public static (IReadOnlyList<KeyValuePair<string, string>> Settings, IReadOnlyList<string> Ignored) Translate(string? yaml)
    {
        var settings = new List<KeyValuePair<string, string>>();
        var ignored = new List<string>();
        if (string.IsNullOrWhiteSpace(yaml)) return (settings, ignored);
        List<YamlToJson.Document> docs;
        try { docs = YamlToJson.Convert(yaml); }
        catch (YamlToJson.SyntaxError e) { throw new FormatException($"not valid YAML: {e.Message}", e); }
        if (docs.Count == 0) return (settings, ignored);
        if (docs.Count > 1) throw new FormatException("holds more than one YAML document; expected one sarama config mapping");
        using var json = JsonDocument.Parse(docs[0].Json);
        if (json.RootElement.ValueKind != JsonValueKind.Object)
            throw new FormatException("must be a YAML mapping of sarama.Config fields, e.g. 'consumer: {fetch: {min: 1}}'");
        Walk(json.RootElement, "", settings, ignored);
        return (settings, ignored);
    }

    private static void Walk(JsonElement node, string prefix, List<KeyValuePair<string, string>> settings, List<string> ignored)
    {
        foreach (var p in node.EnumerateObject())
        {
            var path = prefix.Length == 0 ? p.Name : $"{prefix}.{p.Name}";
            if (Known.TryGetValue(path, out var target))
                settings.Add(new(target.Key, Convert(path, p.Value, target.Kind)));
            else if (p.Value.ValueKind == JsonValueKind.Object)
                Walk(p.Value, path, settings, ignored);
            else
                ignored.Add(path);
        }
    }

    private static string Convert(string path, JsonElement v, Kind kind) => kind switch
    {
        Kind.Text when v.ValueKind == JsonValueKind.String => v.GetString()!,
        Kind.Count when v.TryGetInt32Value() is { } n && n >= 0 => n.ToString(CultureInfo.InvariantCulture),
        Kind.Milliseconds when Milliseconds(v) is { } ms => ms.ToString(CultureInfo.InvariantCulture),
        // sarama's OffsetOldest is -2 and OffsetNewest -1.
        Kind.InitialOffset when v.TryGetInt32Value() is -2 => "earliest",
        Kind.InitialOffset when v.TryGetInt32Value() is -1 => "latest",
        Kind.Isolation when v.TryGetInt32Value() is 0 => "read_uncommitted",
        Kind.Isolation when v.TryGetInt32Value() is 1 => "read_committed",
        _ => throw new FormatException($"{path}: '{v.GetRawText()}' is not {Expected(kind)}"),
    };

    private static string Expected(Kind kind) => kind switch
    {
        Kind.Text => "a string",
        Kind.Count => "a non-negative integer",
        Kind.Milliseconds => "a duration (integer nanoseconds or e.g. 10s)",
        Kind.InitialOffset => "-2 (oldest) or -1 (newest)",
        _ => "0 (read uncommitted) or 1 (read committed)",
    };

    private static int? TryGetInt32Value(this JsonElement v) => v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var n) ? n : null;

    private static long? Milliseconds(JsonElement v)
    {
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var ns) && ns >= 0) return ns / 1_000_000;
        if (v.ValueKind == JsonValueKind.String && Durations.TryParse(v.GetString(), out var d)) return (long)d.TotalMilliseconds;
        return null;
    }
}
