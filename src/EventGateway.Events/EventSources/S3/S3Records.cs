using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace EventGateway.Events.EventSources.S3;

/// <summary>An object change a poll found, in the terms of an S3 event record.</summary>
public sealed record S3ObjectChange(string EventName, string Key, long? Size, string ETag, DateTimeOffset Time, string Sequencer, string? Owner);

/// <summary>
/// The event data of the minio and s3 sources, as Argo's minio source sends it:
/// <c>{"notification": [record], "metadata": {...}}</c>, each record in the S3 event-notification shape
/// so Sensor paths like <c>notification.0.s3.object.key</c> keep working. One record per event, so
/// each event has the identity of one object change.
/// </summary>
public static class S3Records
{
    /// <summary>The event id: the same object change (bucket, key, version or ETag, sequencer) always gets the same id.</summary>
    public static string EventId(string bucket, string key, string? versionOrETag, string? sequencer)
    {
        var identity = Encoding.UTF8.GetBytes($"{bucket}\n{key}\n{versionOrETag}\n{sequencer}");
        return Convert.ToHexStringLower(SHA256.HashData(identity).AsSpan(0, 16));
    }

    /// <summary>A sequencer from a time: hexadecimal like S3's, ordered as the changes were.</summary>
    public static string Sequencer(DateTimeOffset time) => time.ToUnixTimeMilliseconds().ToString("X16", CultureInfo.InvariantCulture);

    /// <summary>Wraps a received record, kept byte for byte.</summary>
    public static byte[] Data(JsonElement record, IReadOnlyDictionary<string, string>? metadata) =>
        Write(w => w.WriteRawValue(record.GetRawText(), skipInputValidation: true), metadata);

    /// <summary>Writes the record a bucket notification would carry for a change a poll found.</summary>
    public static byte[] Data(S3ObjectChange change, string bucket, S3SourceType type, string region, IReadOnlyDictionary<string, string>? metadata) =>
        Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("eventVersion", "2.0");
            w.WriteString("eventSource", type == S3SourceType.Minio ? "minio:s3" : "aws:s3");
            w.WriteString("awsRegion", region);
            w.WriteString("eventTime", change.Time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            w.WriteString("eventName", S3EventNames.ForRecord(change.EventName, type));
            w.WriteStartObject("userIdentity");
            w.WriteString("principalId", change.Owner ?? "");
            w.WriteEndObject();
            w.WriteStartObject("requestParameters");
            w.WriteString("sourceIPAddress", "");
            w.WriteEndObject();
            w.WriteStartObject("responseElements");
            w.WriteEndObject();
            w.WriteStartObject("s3");
            w.WriteString("s3SchemaVersion", "1.0");
            // No notification configuration produced this record: the id says where it came from.
            w.WriteString("configurationId", "eventgateway-poll");
            w.WriteStartObject("bucket");
            w.WriteString("name", bucket);
            w.WriteStartObject("ownerIdentity");
            w.WriteString("principalId", change.Owner ?? "");
            w.WriteEndObject();
            w.WriteString("arn", $"arn:aws:s3:::{bucket}");
            w.WriteEndObject();
            w.WriteStartObject("object");
            w.WriteString("key", EscapeKey(change.Key, type));
            if (change.Size is { } size) w.WriteNumber("size", size);
            if (change.EventName == S3EventNames.Put) w.WriteString("eTag", change.ETag);
            w.WriteString("sequencer", change.Sequencer);
            w.WriteEndObject();
            w.WriteEndObject();
            if (type == S3SourceType.Minio)
            {
                w.WriteStartObject("source");
                w.WriteString("host", "");
                w.WriteString("port", "");
                w.WriteString("userAgent", "EventGateway poll");
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }, metadata);

    private static byte[] Write(Action<Utf8JsonWriter> record, IReadOnlyDictionary<string, string>? metadata)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartArray("notification");
            record(w);
            w.WriteEndArray();
            w.WriteStartObject("metadata");
            if (metadata is not null)
                foreach (var (k, v) in metadata) w.WriteString(k, v);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Keys in records are URL-encoded as the servers send them: MinIO query-escapes the whole key
    /// (<c>dir%2Fa+b.txt</c>), AWS the same but keeps <c>/</c> (<c>dir/a+b.txt</c>).
    /// </summary>
    public static string EscapeKey(string key, S3SourceType type)
    {
        var sb = new StringBuilder(key.Length + 8);
        foreach (var b in Encoding.UTF8.GetBytes(key))
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '~' || (c == '/' && type == S3SourceType.S3)) sb.Append(c);
            else if (c == ' ') sb.Append('+');
            else sb.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    /// <summary>A record's key as stored in the bucket.</summary>
    public static string UnescapeKey(string key) => Uri.UnescapeDataString(key.Replace('+', ' '));
}
