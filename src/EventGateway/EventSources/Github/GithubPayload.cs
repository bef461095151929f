using System.Buffers;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using EventGateway.EventSources.Http;
using Microsoft.AspNetCore.Http;

namespace EventGateway.EventSources.Github;

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
    public static byte[] Extract(string? contentType, byte[] body)
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

        WebhookRequest.RequireJson(json);
        var first = new Utf8JsonReader(json);
        first.Read();
        if (first.TokenType != JsonTokenType.StartObject)
            throw new WebhookRefusal(StatusCodes.Status400BadRequest, $"body is a JSON {Describe(first.TokenType)}; a GitHub payload is an object");
        return json;
    }

    /// <summary>The delivery id, or null when the header is absent; refuses one that cannot be an id.</summary>
    public static string? DeliveryId(IHeaderDictionary headers)
    {
        var id = headers[DeliveryHeader].ToString();
        if (id.Length == 0) return null;
        if (id.Length > MaxDeliveryIdLength || !id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':'))
            throw new WebhookRefusal(StatusCodes.Status400BadRequest, $"{DeliveryHeader} is not a delivery id (at most {MaxDeliveryIdLength} letters, digits, '-', '_', '.', ':')");
        return id;
    }

    /// <summary>Writes <c>{headers, body, metadata}</c>; Authorization is masked, as the webhook source does.</summary>
    public static ArrayBufferWriter<byte> EventData(IHeaderDictionary headers, byte[] json, IReadOnlyDictionary<string, string>? metadata)
    {
        var data = new ArrayBufferWriter<byte>(json.Length + 1024);
        // Event data is read by Sensors, never embedded in HTML: keep payload text as sent where JSON allows.
        using var w = new Utf8JsonWriter(data, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        w.WriteStartObject();
        WebhookRequest.WriteHeaders(w, "headers", headers, "Authorization");
        w.WritePropertyName("body");
        using (var doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 256 }))
        {
            w.WriteStartObject();
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                // Argo overwrites these keys with the headers' values; keep only the copies written below.
                if (p.NameEquals(EventHeader) || p.NameEquals(DeliveryHeader)) continue;
                p.WriteTo(w);
            }
            w.WriteString(EventHeader, headers[EventHeader].ToString());
            w.WriteString(DeliveryHeader, headers[DeliveryHeader].ToString());
            w.WriteEndObject();
        }
        WebhookRequest.WriteMetadata(w, metadata);
        w.WriteEndObject();
        w.Flush();
        return data;
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
