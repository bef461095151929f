using System.Buffers;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using EventGateway.Events.EventSources.Http;

namespace EventGateway.Events.EventSources.Github;

/// <summary>
/// Turns a verified delivery into Argo's <c>GithubEventData</c>: <c>{headers, body, metadata}</c>, where
/// body is the JSON payload with <c>X-GitHub-Event</c> and <c>X-GitHub-Delivery</c> copied into it, as
/// Argo's listener does, so Sensors may read them from either place.
/// </summary>
public static class GithubPayload
{
    public const string EventHeader = "X-GitHub-Event";
    public const string DeliveryHeader = "X-GitHub-Delivery";
    private const int MaxDeliveryIdLength = 128;

    /// <summary>
    /// The JSON payload of the request, decoded by its Content-Type as GitHub sends it: the raw body for
    /// <c>application/json</c> (or no type), the <c>payload</c> field for <c>application/x-www-form-urlencoded</c>.
    /// </summary>
    public static Payload Extract(string? contentType, byte[] body)
    {
        var mediaType = MediaTypeHeaderValue.TryParse(contentType, out var parsed) ? parsed.MediaType : null;
        byte[] json;
        if (string.IsNullOrEmpty(contentType) || string.Equals(mediaType, "application/json", StringComparison.OrdinalIgnoreCase))
            json = body;
        else if (string.Equals(mediaType, "application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase))
        {
            var form = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery("?" + Encoding.UTF8.GetString(body));
            if (!form.TryGetValue("payload", out var payload) || payload.Count == 0 || string.IsNullOrEmpty(payload[0]))
                throw new WebhookRefusal(StatusCodes.Status400BadRequest, "form body has no 'payload' field; GitHub form deliveries carry the JSON in it");
            json = Encoding.UTF8.GetBytes(payload[0]!);
        }
        else
            throw new WebhookRefusal(StatusCodes.Status415UnsupportedMediaType,
                $"Content-Type '{contentType}' is not one GitHub sends; expected application/json or application/x-www-form-urlencoded");

        return new Payload(json, Scan(json));
    }

    /// <summary>A payload known to be a JSON object; whether it has keys named like the copied headers.</summary>
    public readonly record struct Payload(byte[] Json, bool HasHeaderKeys);

    /// <summary>
    /// One reader pass: refuses what is not a JSON object (400) and tells whether the payload already has
    /// top-level keys named like the copied headers (then the slower rewrite in <see cref="EventData"/> runs).
    /// </summary>
    private static bool Scan(ReadOnlySpan<byte> json)
    {
        if (json.IsEmpty) throw new WebhookRefusal(StatusCodes.Status400BadRequest, "body is empty; expected JSON");
        var hasHeaderKeys = false;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 256 });
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartObject)
                throw new WebhookRefusal(StatusCodes.Status400BadRequest, $"body is a JSON {Describe(reader.TokenType)}; a GitHub payload is an object");
            while (reader.Read())
                if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1
                    && (reader.ValueTextEquals(EventHeader) || reader.ValueTextEquals(DeliveryHeader)))
                    hasHeaderKeys = true;
        }
        catch (JsonException e)
        {
            throw new WebhookRefusal(StatusCodes.Status400BadRequest, $"body is not JSON: {e.Message.Split('\n')[0].Trim()}");
        }
        return hasHeaderKeys;
    }

    /// <summary>The delivery id, or null when the header is absent; refuses one that cannot be an id.</summary>
    public static string? DeliveryId(IHeaderDictionary headers)
    {
        var id = Octokit.Webhooks.WebhookHeaders.Parse(headers).Delivery ?? "";
        if (id.Length == 0) return null;
        if (id.Length > MaxDeliveryIdLength || !id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':'))
            throw new WebhookRefusal(StatusCodes.Status400BadRequest, $"{DeliveryHeader} is not a delivery id (at most {MaxDeliveryIdLength} letters, digits, '-', '_', '.', ':')");
        return id;
    }

    /// <summary>Writes <c>{headers, body, metadata}</c>; Authorization is masked, as the webhook source does.</summary>
    public static ArrayBufferWriter<byte> EventData(IHeaderDictionary headers, Payload payload, IReadOnlyDictionary<string, string>? metadata)
    {
        var data = new ArrayBufferWriter<byte>(payload.Json.Length + 1024);
        // Event data is read by Sensors, never embedded in HTML: keep payload text as sent where JSON allows.
        using var w = new Utf8JsonWriter(data, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        w.WriteStartObject();
        WebhookRequest.WriteHeaders(w, "headers", headers, "Authorization");
        w.WritePropertyName("body");
        var json = payload.Json;
        if (payload.HasHeaderKeys) RewriteBody(w, headers, json);
        else
        {
            // The common case: the payload is valid and has no such keys, so append the two copies
            // before its closing brace instead of re-encoding an 8 KB document.
            var end = json.AsSpan().LastIndexOf((byte)'}');
            var inner = json.AsSpan(0, end).TrimEnd(" \t\r\n"u8);
            var empty = inner.Length > 0 && inner[^1] == (byte)'{';
            using var extra = new MemoryStream();
            using (var x = new Utf8JsonWriter(extra))
            {
                x.WriteStartObject();
                x.WriteString(EventHeader, headers[EventHeader].ToString());
                x.WriteString(DeliveryHeader, headers[DeliveryHeader].ToString());
                x.WriteEndObject();
            }
            var tail = extra.GetBuffer().AsSpan(1, (int)extra.Length - 1); // "...}" without its opening brace
            var body = new byte[inner.Length + (empty ? 0 : 1) + tail.Length];
            inner.CopyTo(body);
            if (!empty) body[inner.Length] = (byte)',';
            tail.CopyTo(body.AsSpan(inner.Length + (empty ? 0 : 1)));
            w.WriteRawValue(body, skipInputValidation: true);
        }
        WebhookRequest.WriteMetadata(w, metadata);
        w.WriteEndObject();
        w.Flush();
        return data;
    }

    /// <summary>Argo overwrites payload keys named like the headers with the headers' values: re-encode without them.</summary>
    private static void RewriteBody(Utf8JsonWriter w, IHeaderDictionary headers, byte[] json)
    {
        using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 256 });
        w.WriteStartObject();
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            if (p.NameEquals(EventHeader) || p.NameEquals(DeliveryHeader)) continue;
            p.WriteTo(w);
        }
        w.WriteString(EventHeader, headers[EventHeader].ToString());
        w.WriteString(DeliveryHeader, headers[DeliveryHeader].ToString());
        w.WriteEndObject();
    }

    private static string Describe(JsonTokenType t) => t switch
    {
        JsonTokenType.StartArray => "array",
        JsonTokenType.String => "string",
        JsonTokenType.Number => "number",
        JsonTokenType.True or JsonTokenType.False => "boolean",
        JsonTokenType.Null => "null",
        _ => t.ToString(),
    };
}
