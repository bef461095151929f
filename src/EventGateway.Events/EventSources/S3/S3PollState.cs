using System.Buffers;
using System.Text;
using System.Text.Json;

namespace EventGateway.Events.EventSources.S3;

/// <summary>An object as a poll last saw it: a change of either field is a new version.</summary>
public readonly record struct S3SeenObject(string ETag, long ModifiedMs);

/// <summary>
/// What the polls of one event have seen, kept as the event's source state in the event log and
/// written in the same transaction as the events it produced. <c>Scope</c> names the server, bucket,
/// prefix and suffix it describes: a state of another scope is not this event's.
/// </summary>
public sealed class S3PollState(string scope, Dictionary<string, S3SeenObject> objects)
{
    private const int Version = 1;

    public string Scope { get; } = scope;
    public Dictionary<string, S3SeenObject> Objects { get; } = objects;

    public string Serialize()
    {
        var buffer = new ArrayBufferWriter<byte>(64 + Objects.Count * 64);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("v", Version);
            w.WriteString("scope", Scope);
            w.WriteStartArray("objects");
            foreach (var (key, seen) in Objects.OrderBy(o => o.Key, StringComparer.Ordinal))
            {
                w.WriteStartArray();
                w.WriteStringValue(key);
                w.WriteStringValue(seen.ETag);
                w.WriteNumberValue(seen.ModifiedMs);
                w.WriteEndArray();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <returns>the state, or null when there is none.</returns>
    /// <exception cref="FormatException">the stored text is not a poll state of this version.</exception>
    public static S3PollState? Parse(string? json)
    {
        if (json is null) return null;
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            if (root.GetProperty("v").GetInt32() != Version) throw new FormatException($"poll state version {root.GetProperty("v")} is not {Version}");
            var objects = new Dictionary<string, S3SeenObject>(StringComparer.Ordinal);
            foreach (var o in root.GetProperty("objects").EnumerateArray())
                objects[o[0].GetString()!] = new S3SeenObject(o[1].GetString()!, o[2].GetInt64());
            return new S3PollState(root.GetProperty("scope").GetString()!, objects);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or IndexOutOfRangeException)
        {
            throw new FormatException($"poll state is unreadable: {e.Message}", e);
        }
    }
}
