using System.Buffers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace EventGateway.Events.EventSources.Http;

/// <summary>A request refused before it became an event: the status and the one-line reason.</summary>
public sealed class WebhookRefusal(int status, string reason) : Exception(reason)
{
    public int Status { get; } = status;
    public string Reason { get; } = reason;
}

/// <summary>Reading webhook requests the way Argo's listeners do, within the size limit.</summary>
public static class WebhookRequest
{
    /// <summary>Argo's default <c>maxPayloadSize</c>: 1 MiB.</summary>
    public const long DefaultMaxPayload = 1024 * 1024;

    /// <summary>The raw body, refusing with 413 beyond <paramref name="max"/> bytes whatever the Content-Length says.</summary>
    public static async Task<byte[]> ReadBodyAsync(HttpRequest request, long max, CancellationToken ct)
    {
        if (request.ContentLength > max)
            throw new WebhookRefusal(StatusCodes.Status413PayloadTooLarge, $"body of {request.ContentLength} bytes is over the limit of {max} bytes");
        if (request.ContentLength is { } declared)
        {
            // Kestrel holds the body to its Content-Length: read straight into an array of that size.
            var exact = new byte[declared];
            await request.Body.ReadExactlyAsync(exact, ct).ConfigureAwait(false);
            return exact;
        }
        var initial = (int)Math.Min(4096, max);
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(initial, 256));
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length > max) break;
                    var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, max + 1));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }
                var read = await request.Body.ReadAsync(buffer.AsMemory(length), ct).ConfigureAwait(false);
                if (read == 0) break;
                length += read;
                if (length > max)
                    throw new WebhookRefusal(StatusCodes.Status413PayloadTooLarge, $"body is over the limit of {max} bytes");
            }
            return buffer.AsSpan(0, length).ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Refuses with 400 unless <paramref name="body"/> is one JSON value.</summary>
    public static void RequireJson(ReadOnlySpan<byte> body)
    {
        if (body.IsEmpty) throw new WebhookRefusal(StatusCodes.Status400BadRequest, "body is empty; expected JSON");
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 256 });
            while (reader.Read()) { }
        }
        catch (JsonException e)
        {
            throw new WebhookRefusal(StatusCodes.Status400BadRequest, $"body is not JSON: {FirstLine(e.Message)}");
        }
    }

    /// <summary>A urlencoded form as Go's <c>url.Values</c> marshals: each key to a list of values.</summary>
    public static byte[] FormToJson(ReadOnlySpan<byte> body)
    {
        var form = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery("?" + Encoding.UTF8.GetString(body));
        return ValuesToJson(form.Select(kv => (kv.Key, (IEnumerable<string?>)kv.Value)));
    }

    public static byte[] QueryToJson(IQueryCollection query) => ValuesToJson(query.Select(kv => (kv.Key, (IEnumerable<string?>)kv.Value)));

    private static byte[] ValuesToJson(IEnumerable<(string Key, IEnumerable<string?> Values)> values)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            foreach (var (key, vs) in values.OrderBy(v => v.Key, StringComparer.Ordinal))
            {
                w.WriteStartArray(key);
                foreach (var v in vs) w.WriteStringValue(v);
                w.WriteEndArray();
            }
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Writes request headers as Go's <c>http.Header</c> marshals (canonical names, lists of values),
    /// so Sensor paths like <c>header.X-Github-Event</c> keep working. Masked headers keep their name only.
    /// </summary>
    public static void WriteHeaders(Utf8JsonWriter w, string property, IHeaderDictionary headers, params string[] masked)
    {
        w.WriteStartObject(property);
        foreach (var (name, values) in headers.OrderBy(h => h.Key, StringComparer.OrdinalIgnoreCase))
        {
            // Go moves Host out of Request.Header into Request.Host; Sensors never see it there.
            if (string.Equals(name, "Host", StringComparison.OrdinalIgnoreCase)) continue;
            w.WriteStartArray(CanonicalHeaderKey(name));
            var mask = masked.Any(m => string.Equals(m, name, StringComparison.OrdinalIgnoreCase));
            foreach (var v in values) w.WriteStringValue(mask ? "*****" : v);
            w.WriteEndArray();
        }
        w.WriteEndObject();
    }

    public static void WriteMetadata(Utf8JsonWriter w, IReadOnlyDictionary<string, string>? metadata)
    {
        w.WriteStartObject("metadata");
        if (metadata is not null)
            foreach (var (k, v) in metadata) w.WriteString(k, v);
        w.WriteEndObject();
    }

    /// <summary>Go's textproto.CanonicalMIMEHeaderKey: "x-github-event" becomes "X-Github-Event".</summary>
    public static string CanonicalHeaderKey(string name)
    {
        foreach (var c in name)
            if (c is ' ' or '\t' || c > 127) return name;
        return string.Create(name.Length, name, static (span, n) =>
        {
            var upper = true;
            for (var i = 0; i < n.Length; i++)
            {
                var c = n[i];
                span[i] = upper ? char.ToUpperInvariant(c) : char.ToLowerInvariant(c);
                upper = c == '-';
            }
        });
    }

    private static string FirstLine(string s) => s.Split('\n')[0].Trim();
}
