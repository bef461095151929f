using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EventGateway.Events.Log;
using EventGateway.Languages.Json;
using EventGateway.Model;
using EventGateway.Model.Manifests;

namespace EventGateway.Events.Sensors;

/// <summary>
/// The identity of a firing, checked against the dedup store before a trigger fires and hashed into the
/// names of the workflows it creates. By default it is the event id (GitHub's delivery id, Kafka's
/// topic/partition/offset, S3's bucket/key/etag, a calendar tick); a Sensor can declare payload fields
/// instead with the annotation <c>eventgateway.io/dedup-key</c> (comma-separated gjson paths into the data,
/// e.g. <c>body.head_commit.id</c>). A firing of several dependencies joins their keys by dependency name.
/// </summary>
public static class DedupKeys
{
    public const string KeyAnnotation = "eventgateway.io/dedup-key";
    public const string WindowAnnotation = "eventgateway.io/dedup-window";
    public static readonly TimeSpan DefaultWindow = TimeSpan.FromHours(72); // GitHub's redelivery horizon

    public static TimeSpan Window(Sensor sensor) =>
        sensor.Metadata.Annotations?.GetValueOrDefault(WindowAnnotation) is { } text && Durations.TryParse(text, out var w) ? w : DefaultWindow;

    public static IReadOnlyList<string>? DeclaredPaths(Sensor sensor) =>
        sensor.Metadata.Annotations?.GetValueOrDefault(KeyAnnotation) is { Length: > 0 } text
            ? text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : null;

    public static string For(IReadOnlyDictionary<string, CloudEvent> events, IReadOnlyList<string>? paths)
    {
        if (events.Count == 1) return KeyOf(events.Values.First(), paths);
        return string.Join(";", events.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={KeyOf(kv.Value, paths)}"));
    }

    /// <summary>A DNS-1123 name: <paramref name="prefix"/> plus 10 hex digits of the firing's identity, so a replay lands on the same name.</summary>
    public static string WorkflowName(string prefix, string @namespace, string sensor, string trigger, string dedupKey)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{@namespace}/{sensor}/{trigger}/{dedupKey}"));
        var suffix = Convert.ToHexStringLower(hash)[..10];
        var clean = new StringBuilder();
        foreach (var c in prefix.ToLowerInvariant())
            clean.Append(char.IsAsciiLetterOrDigit(c) || c is '-' or '.' ? c : '-');
        var head = clean.ToString().TrimStart('-', '.');
        if (head.Length > 52) head = head[..52];
        return head + suffix;
    }

    private static string KeyOf(CloudEvent e, IReadOnlyList<string>? paths)
    {
        if (paths is null || e.Data.IsEmpty) return e.Id;
        try
        {
            using var doc = JsonDocument.Parse(e.Data);
            var values = paths.Select(p => GJson.Get(doc.RootElement, p)).ToList();
            // An event lacking the declared fields keeps its own identity rather than colliding with every other such event.
            return values.Any(v => v is null) ? e.Id : string.Join("|", values.Select(v => v!.Value.ValueKind == JsonValueKind.String ? v.Value.GetString() : v.Value.GetRawText()));
        }
        catch (JsonException)
        {
            return e.Id;
        }
    }
}
