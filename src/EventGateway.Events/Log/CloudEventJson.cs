using System.Text.Json;

namespace EventGateway.Events.Log;

/// <summary>
/// CloudEvents structured JSON (spec 1.0, <c>data_base64</c> for the bytes), for keeping events outside
/// the log: a sensor's partial condition state and its dead letters outlive the log's retention.
/// </summary>
public static class CloudEventJson
{
    public static byte[] Serialize(CloudEvent e)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("specversion", e.SpecVersion);
            w.WriteString("id", e.Id);
            w.WriteString("source", e.Source);
            w.WriteString("type", e.Type);
            w.WriteString("subject", e.Subject);
            w.WriteString("time", e.Time);
            w.WriteString("datacontenttype", e.DataContentType);
            w.WriteBase64String("data_base64", e.Data.Span);
            if (e.TraceParent is { } tp) w.WriteString("traceparent", tp);
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <exception cref="JsonException">not a structured CloudEvent this class wrote.</exception>
    public static CloudEvent Deserialize(ReadOnlySpan<byte> json)
    {
        using var doc = JsonDocument.Parse(json.ToArray());
        var r = doc.RootElement;
        string S(string name) => r.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()! : throw new JsonException($"CloudEvent JSON lacks '{name}'");
        return new CloudEvent(S("id"), S("source"), S("type"), S("subject"), r.GetProperty("time").GetDateTimeOffset(),
            r.GetProperty("data_base64").GetBytesFromBase64(), S("datacontenttype"),
            r.TryGetProperty("traceparent", out var tp) && tp.ValueKind == JsonValueKind.String ? tp.GetString() : null);
    }
}
