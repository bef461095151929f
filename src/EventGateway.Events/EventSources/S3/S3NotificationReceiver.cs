using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using EventGateway.Events.EventSources.Http;
using EventGateway.Model;

namespace EventGateway.Events.EventSources.S3;

/// <summary>
/// Bucket events pushed to us: S3 event-notification JSON POSTed to a route on the shared webhook
/// server, either as MinIO's webhook target sends it (<c>{"EventName","Key","Records":[...]}</c>) or as
/// AWS SNS delivers it (<c>{"Type":"Notification","Message":"{\"Records\":[...]}"}</c>; a
/// <c>SubscriptionConfirmation</c> is confirmed by fetching its SubscribeURL). Records of other
/// buckets, event names or keys are dropped; each remaining record becomes one event, all of a
/// request in one durable write before the 200.
/// </summary>
public sealed partial class S3NotificationReceiver(S3EventSource spec, S3Delivery delivery)
{
    private static readonly HttpClient Confirmations = new() { Timeout = TimeSpan.FromSeconds(10) };

    private readonly S3Selection _selection = new(spec);

    public async Task RunAsync(ListenerContext ctx, CancellationToken ct)
    {
        var endpoint = WebhookEndpoint.From(new WebhookContext
        {
            Port = delivery.NotificationPort!.Value.ToString(CultureInfo.InvariantCulture),
            Endpoint = delivery.EndpointFor(ctx.EventName),
            Method = "POST",
            AuthSecret = delivery.NotificationToken,
        });
        var route = new WebhookRoute(endpoint.Port, endpoint.Path, http => WebhookEndpoint.Guard(http, ctx, () => HandleAsync(http, ctx, endpoint)),
            $"{ctx.Namespace}/{ctx.SourceName}/{ctx.EventName}");
        await using var registration = await ctx.Http.RegisterAsync(route, ct).ConfigureAwait(false);
        ctx.Status.Listening(endpoint.Target(tls: false));
        await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private async Task HandleAsync(HttpContext http, ListenerContext ctx, WebhookEndpoint endpoint)
    {
        await endpoint.CheckAsync(http, ctx).ConfigureAwait(false);
        var body = await WebhookRequest.ReadBodyAsync(http.Request, endpoint.MaxPayload, http.RequestAborted).ConfigureAwait(false);
        WebhookRequest.RequireJson(body);
        using var doc = JsonDocument.Parse(body);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw BadRequest($"body is a JSON {Kind(root)}; expected an S3 notification object");

        if (root.TryGetProperty("Type", out var snsType))
        {
            await HandleSnsAsync(http, ctx, root, snsType).ConfigureAwait(false);
            return;
        }
        if (!root.TryGetProperty("Records", out var records))
            throw BadRequest("expected S3 event records: a MinIO notification {\"EventName\", \"Key\", \"Records\"} or an SNS message {\"Type\", \"Message\"}");
        await PublishAsync(http, ctx, records, "Records").ConfigureAwait(false);
    }

    private async Task HandleSnsAsync(HttpContext http, ListenerContext ctx, JsonElement root, JsonElement type)
    {
        switch (type.ValueKind == JsonValueKind.String ? type.GetString() : null)
        {
            case "SubscriptionConfirmation":
                await ConfirmAsync(http, ctx, root).ConfigureAwait(false);
                return;
            case "UnsubscribeConfirmation":
                await WebhookReplies.Reply(http, StatusCodes.Status200OK, "unsubscribe confirmation noted; no event").ConfigureAwait(false);
                return;
            case "Notification":
                break;
            default:
                throw BadRequest($"SNS message Type {type.GetRawText()} is not Notification, SubscriptionConfirmation or UnsubscribeConfirmation");
        }
        if (!root.TryGetProperty("Message", out var message) || message.ValueKind != JsonValueKind.String)
            throw BadRequest("SNS Notification has no Message string");
        JsonDocument inner;
        try
        {
            inner = JsonDocument.Parse(message.GetString()!);
        }
        catch (JsonException e)
        {
            throw BadRequest($"SNS Message is not JSON: {e.Message.Split('\n')[0]}");
        }
        using (inner)
        {
            if (inner.RootElement.ValueKind != JsonValueKind.Object) throw BadRequest($"SNS Message is a JSON {Kind(inner.RootElement)}; expected an S3 notification object");
            if (!inner.RootElement.TryGetProperty("Records", out var records))
            {
                // S3 sends s3:TestEvent (no Records) when a notification configuration is saved.
                ctx.Status.Reject("no records");
                await WebhookReplies.Reply(http, StatusCodes.Status200OK, "event not published: the SNS Message has no S3 Records (e.g. s3:TestEvent)").ConfigureAwait(false);
                return;
            }
            await PublishAsync(http, ctx, records, "Message.Records").ConfigureAwait(false);
        }
    }

    private async Task PublishAsync(HttpContext http, ListenerContext ctx, JsonElement records, string at)
    {
        if (records.ValueKind != JsonValueKind.Array) throw BadRequest($"{at} is a JSON {Kind(records)}; expected an array of S3 event records");
        var now = ctx.Time.GetUtcNow();
        var events = new List<(string Id, ReadOnlyMemory<byte> Data, DateTimeOffset Time)>();
        var index = 0;
        foreach (var record in records.EnumerateArray())
        {
            var r = S3Record.Read(record, $"{at}[{index++}]");
            if (r.Bucket != _selection.Bucket || !_selection.Wants(r.EventName) || !_selection.KeyMatches(r.Key)) continue;
            events.Add((S3Records.EventId(r.Bucket, r.Key, r.VersionOrETag, r.Sequencer), S3Records.Data(record, spec.Metadata), r.Time ?? now));
        }
        if (events.Count == 0)
        {
            ctx.Status.Reject("filtered");
            await WebhookReplies.Reply(http, StatusCodes.Status200OK,
                $"event not published: none of the {index} records matches {_selection}").ConfigureAwait(false);
            return;
        }
        await ctx.PublishManyAsync(events, ct: http.RequestAborted).ConfigureAwait(false);
        await WebhookReplies.Success(http).ConfigureAwait(false);
    }

    /// <summary>Confirms an SNS subscription by fetching its SubscribeURL, as SNS asks; answers 502 when that fails.</summary>
    private static async Task ConfirmAsync(HttpContext http, ListenerContext ctx, JsonElement root)
    {
        if (!root.TryGetProperty("SubscribeURL", out var u) || u.ValueKind != JsonValueKind.String
            || !Uri.TryCreate(u.GetString(), UriKind.Absolute, out var url))
            throw BadRequest("SNS SubscriptionConfirmation has no SubscribeURL");
        // SNS confirms over https; plain http is allowed only to this machine (local test doubles).
        if (url.Scheme != Uri.UriSchemeHttps && !(url.Scheme == Uri.UriSchemeHttp && IsLoopback(url)))
            throw BadRequest($"SubscribeURL {url} is not https; refusing to fetch it");
        try
        {
            using var response = await Confirmations.GetAsync(url, http.RequestAborted).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
                throw new WebhookRefusal(StatusCodes.Status502BadGateway, $"SNS subscription not confirmed: GET SubscribeURL answered {(int)response.StatusCode}");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !http.RequestAborted.IsCancellationRequested)
        {
            throw new WebhookRefusal(StatusCodes.Status502BadGateway, $"SNS subscription not confirmed: GET SubscribeURL failed: {e.Message}");
        }
        LogConfirmed(ctx.Logger, ctx.Namespace, ctx.SourceName, ctx.EventName, url.Host);
        await WebhookReplies.Reply(http, StatusCodes.Status200OK, "SNS subscription confirmed").ConfigureAwait(false);
    }

    private static bool IsLoopback(Uri url) =>
        url.IsLoopback || (IPAddress.TryParse(url.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));

    private static WebhookRefusal BadRequest(string reason) => new(StatusCodes.Status400BadRequest, reason);

    private static string Kind(JsonElement e) => e.ValueKind.ToString().ToLowerInvariant();

    /// <summary>The fields of a received record that select and identify it.</summary>
    private sealed record S3Record(string Bucket, string Key, string EventName, string? VersionOrETag, string? Sequencer, DateTimeOffset? Time)
    {
        public static S3Record Read(JsonElement r, string at)
        {
            if (r.ValueKind != JsonValueKind.Object) throw BadRequest($"{at} is a JSON {Kind(r)}; expected an S3 event record");
            var name = String(r, "eventName") ?? throw BadRequest($"{at}.eventName is missing");
            var s3 = Object(r, "s3") ?? throw BadRequest($"{at}.s3 is missing");
            var bucket = Object(s3, "bucket") is { } b ? String(b, "name") : null;
            if (bucket is null) throw BadRequest($"{at}.s3.bucket.name is missing");
            var obj = Object(s3, "object") ?? throw BadRequest($"{at}.s3.object is missing");
            var key = String(obj, "key") ?? throw BadRequest($"{at}.s3.object.key is missing");
            DateTimeOffset? time = DateTimeOffset.TryParse(String(r, "eventTime"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t : null;
            var version = String(obj, "versionId") is { Length: > 0 } v && v != "null" ? v : String(obj, "eTag");
            return new S3Record(bucket, S3Records.UnescapeKey(key), name, version, String(obj, "sequencer"), time);
        }

        private static JsonElement? Object(JsonElement e, string name) =>
            e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Object ? v : null;

        private static string? String(JsonElement e, string name) =>
            e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "event source {Namespace}/{Name} event {Event}: SNS subscription confirmed with {Host}")]
    private static partial void LogConfirmed(ILogger log, string @namespace, string name, string @event, string host);
}
