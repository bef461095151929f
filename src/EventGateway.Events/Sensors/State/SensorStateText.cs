using System.Text.Json;
using EventGateway.Events.Log;

namespace EventGateway.Events.Sensors.State;

/// <summary>How every sensor state store writes sequences and dead letters' events as text, so a store copy reads either.</summary>
public static class SensorStateText
{
    public static string FormatSeqs(IReadOnlyList<long> seqs) => string.Join(",", seqs);

    public static long[] ParseSeqs(string text) =>
        text.Length == 0 ? [] : text.Split(',').Select(s => long.Parse(s, System.Globalization.CultureInfo.InvariantCulture)).ToArray();

    public static string FormatEvents(IReadOnlyDictionary<string, CloudEvent> events) =>
        JsonSerializer.Serialize(events.ToDictionary(kv => kv.Key, kv => JsonDocument.Parse(CloudEventJson.Serialize(kv.Value)).RootElement));

    public static Dictionary<string, CloudEvent> ParseEvents(string json) =>
        JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(json)!
            .ToDictionary(kv => kv.Key, kv => CloudEventJson.Deserialize(System.Text.Encoding.UTF8.GetBytes(kv.Value.GetRawText())), StringComparer.Ordinal);
}
