using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using EventGateway.Events.EventSources.Http;
using EventGateway.Model;

namespace EventGateway.Events.EventSources.Webhook;

/// <summary>
/// Argo's <c>webhook</c> source. Data is <c>{header, body, metadata}</c>: body is the JSON sent (GET:
/// the query, form posts: the form, both as lists of values), header the request headers with
/// Authorization masked. The id is a fresh time-ordered UUID: a plain webhook has no identity of its own.
/// </summary>
public sealed class WebhookListener(WebhookEventSource spec) : IEventListener
{
    public async Task RunAsync(ListenerContext ctx, CancellationToken ct)
    {
        var endpoint = WebhookEndpoint.From(spec.Context);
        var certificate = await endpoint.LoadCertificateAsync(ctx, ct).ConfigureAwait(false);
        var route = new WebhookRoute(endpoint.Port, endpoint.Path, http => WebhookEndpoint.Guard(http, ctx, () => HandleAsync(http, ctx, endpoint)),
            $"{ctx.Namespace}/{ctx.SourceName}/{ctx.EventName}", certificate);
        await using var registration = await ctx.Http.RegisterAsync(route, ct).ConfigureAwait(false);
        ctx.Status.Listening(endpoint.Target(certificate is not null));
        await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private async Task HandleAsync(HttpContext http, ListenerContext ctx, WebhookEndpoint endpoint)
    {
        await endpoint.CheckAsync(http, ctx).ConfigureAwait(false);
        byte[] body;
        if (HttpMethods.IsGet(http.Request.Method))
            body = WebhookRequest.QueryToJson(http.Request.Query);
        else
        {
            body = await WebhookRequest.ReadBodyAsync(http.Request, endpoint.MaxPayload, http.RequestAborted).ConfigureAwait(false);
            if (http.Request.ContentType?.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase) == true)
                body = WebhookRequest.FormToJson(body);
            else
                WebhookRequest.RequireJson(body);
        }

        var data = new ArrayBufferWriter<byte>(body.Length + 512);
        using (var w = new Utf8JsonWriter(data))
        {
            w.WriteStartObject();
            WebhookRequest.WriteHeaders(w, "header", http.Request.Headers, "Authorization");
            w.WritePropertyName("body");
            w.WriteRawValue(body, skipInputValidation: true);
            WebhookRequest.WriteMetadata(w, spec.Metadata);
            w.WriteEndObject();
        }

        if (EventFilter.Check(spec.Filter?.Expression, data.WrittenSpan) is { } why)
        {
            ctx.Status.Reject("filtered");
            await WebhookReplies.Reply(http, StatusCodes.Status200OK, $"event not published: {why}").ConfigureAwait(false);
            return;
        }
        // The sender's trace is continued only if the bearer token proved who sent it (CheckAsync above).
        var caller = endpoint.Authenticates ? CallerTrace.From(http.Request.Headers) : default;
        await ctx.PublishAsync(Guid.CreateVersion7().ToString(), data.WrittenMemory, ct: http.RequestAborted, caller: caller).ConfigureAwait(false);
        await WebhookReplies.Success(http).ConfigureAwait(false);
    }
}
