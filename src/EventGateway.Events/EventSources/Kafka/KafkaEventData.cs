using System.Globalization;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;

namespace EventGateway.Events.EventSources.Kafka;

/// <summary>
/// Argo's KafkaEventData as Go's encoding/json writes it: <c>{topic, key, partition, body, timestamp,
/// headers, metadata}</c>. The body is the message's JSON when <c>jsonBody</c> is set, otherwise its bytes
/// in base64 (how Go marshals []byte); the key and header values are strings; the timestamp is Go's
/// <c>time.Time.String()</c>; metadata is left out when empty (omitempty).
/// </summary>
public static class KafkaEventData
{
    /// <summary>
    /// Argo's id, <c>source:event:firstBroker:topic:partition:offset</c>: the message's own identity, so a
    /// redelivery after a crash is recognisably the same event.
    /// </summary>
    public static string Id(string source, string eventName, string url, string topic, int partition, long offset)
    {
        var comma = url.IndexOf(',', StringComparison.Ordinal);
        var first = comma < 0 ? url : url[..comma];
        return string.Create(CultureInfo.InvariantCulture, $"{source}:{eventName}:{first}:{topic}:{partition}:{offset}");
    }

    /// <summary>Go's <c>time.Time.String()</c> of a UTC time: <c>2006-01-02 15:04:05.999999999 +0000 UTC</c>, trailing zeros of the fraction dropped.</summary>
    public static string GoTimestamp(DateTimeOffset time)
    {
        Span<char> text = stackalloc char[MaxGoTimestamp];
        return new string(text[..FormatGoTimestamp(time, text)]);
    }

    private const int MaxGoTimestamp = 39;

    /// <summary>As <see cref="GoTimestamp"/>, into <paramref name="text"/> (at least 39 chars); returns the length. Digit by digit: this runs once per message.</summary>
    public static int FormatGoTimestamp(DateTimeOffset time, Span<char> text)
    {
        var utc = time.UtcDateTime;
        Digits(text[..4], utc.Year);
        text[4] = '-';
        Digits(text.Slice(5, 2), utc.Month);
        text[7] = '-';
        Digits(text.Slice(8, 2), utc.Day);
        text[10] = ' ';
        Digits(text.Slice(11, 2), utc.Hour);
        text[13] = ':';
        Digits(text.Slice(14, 2), utc.Minute);
        text[16] = ':';
        Digits(text.Slice(17, 2), utc.Second);
        var n = 19;
        var nanos = (int)(utc.Ticks % TimeSpan.TicksPerSecond * 100);
        if (nanos != 0)
        {
            text[n++] = '.';
            var digits = 9;
            while (nanos % 10 == 0) { nanos /= 10; digits--; }
            Digits(text.Slice(n, digits), nanos);
            n += digits;
        }
        " +0000 UTC".CopyTo(text[n..]);
        return n + 10;
    }

    private static void Digits(Span<char> into, int value)
    {
        for (var i = into.Length - 1; i >= 0; i--, value /= 10) into[i] = (char)('0' + value % 10);
    }

    /// <summary>Go's zero time, which is what a message without a timestamp carries.</summary>
    public const string GoZeroTime = "0001-01-01 00:00:00 +0000 UTC";

    /// <summary>The message's time, or null when the broker gave none.</summary>
    public static DateTimeOffset? TimeOf(Message<byte[]?, byte[]?> message) =>
        message.Timestamp.Type == TimestampType.NotAvailable ? null : DateTimeOffset.FromUnixTimeMilliseconds(message.Timestamp.UnixTimestampMs);

    /// <summary>Writes the event data of one message with <paramref name="w"/> and flushes it.</summary>
    /// <returns>null when written, else why the message cannot become an event (nothing written).</returns>
    public static string? Write(Utf8JsonWriter w, ConsumeResult<byte[]?, byte[]?> result, bool jsonBody, IReadOnlyDictionary<string, string>? metadata)
    {
        var message = result.Message;
        var value = message.Value;
        if (jsonBody && value is not null && !IsJson(value)) return "message value is not JSON (jsonBody is set)";

        w.WriteStartObject();
        w.WriteString("topic", result.Topic);
        w.WriteString("key", message.Key is { } key ? Encoding.UTF8.GetString(key) : "");
        w.WriteNumber("partition", result.Partition.Value);
        w.WritePropertyName("body");
        if (value is null) w.WriteNullValue();
        else if (jsonBody) w.WriteRawValue(value, skipInputValidation: true);
        else w.WriteBase64StringValue(value);
        if (TimeOf(message) is { } at)
        {
            Span<char> text = stackalloc char[MaxGoTimestamp];
            w.WriteString("timestamp", text[..FormatGoTimestamp(at, text)]);
        }
        else w.WriteString("timestamp", GoZeroTime);
        WriteHeaders(w, message.Headers);
        if (metadata is { Count: > 0 })
        {
            w.WriteStartObject("metadata");
            foreach (var (k, v) in metadata.OrderBy(m => m.Key, StringComparer.Ordinal)) w.WriteString(k, v);
            w.WriteEndObject();
        }
        w.WriteEndObject();
        w.Flush();
        return null;
    }

    /// <summary>A map of string to string as Go builds it: a repeated key keeps its last value; keys sorted as Go's encoder does.</summary>
    private static void WriteHeaders(Utf8JsonWriter w, Headers? headers)
    {
        w.WriteStartObject("headers");
        if (headers is { Count: > 0 })
        {
            var map = new SortedDictionary<string, string>(StringComparer.Ordinal);
            foreach (var h in headers)
                map[h.Key] = h.GetValueBytes() is { } v ? Encoding.UTF8.GetString(v) : "";
            foreach (var (k, v) in map) w.WriteString(k, v);
        }
        w.WriteEndObject();
    }

    private static bool IsJson(ReadOnlySpan<byte> value)
    {
        try
        {
            var reader = new Utf8JsonReader(value);
            if (!reader.Read()) return false;
            reader.Skip();
            // One value and nothing after it but whitespace, as json.RawMessage requires.
            return !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
