using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using EventGateway.Events.EventSources.Http;
using EventGateway.Model;

namespace EventGateway.Events.EventSources.Github;

/// <summary>
/// Argo's <c>github</c> source: a webhook endpoint that accepts deliveries signed with the webhook
/// secret and, with an <c>apiToken</c> and <c>webhook.url</c>, keeps the repositories' and
/// organizations' hooks pointing at it. The event id is <c>X-GitHub-Delivery</c>, so a redelivery
/// is recognisably the same event (a delivery without one gets a fresh time-ordered UUID). Like Argo,
/// every verified delivery is published whatever its <c>X-GitHub-Event</c>: <c>events</c> only
/// configures the hook, GitHub does the selecting.
/// </summary>
public sealed partial class GithubListener(GithubEventSource spec) : IEventListener
{
    public async Task RunAsync(ListenerContext ctx, CancellationToken ct)
    {
        var endpoint = WebhookEndpoint.From(spec.Webhook ?? throw new InvalidOperationException("github event has no webhook settings"));
        var certificate = await endpoint.LoadCertificateAsync(ctx, ct).ConfigureAwait(false);
        var allowSha1 = GithubSignature.AllowsSha1(ctx.Source);
        var route = new WebhookRoute(endpoint.Port, endpoint.Path, http => WebhookEndpoint.Guard(http, ctx, () => HandleAsync(http, ctx, endpoint, allowSha1)),
            $"{ctx.Namespace}/{ctx.SourceName}/{ctx.EventName}", certificate);
        await using var registration = await ctx.Http.RegisterAsync(route, ct).ConfigureAwait(false);
        var target = endpoint.Target(certificate is not null);

        // The endpoint serves from here on; with hooks to register it reports Listening once they are in place.
        if (GithubHookRegistrar.Wanted(spec))
            await KeepHooksAsync(ctx, target, ct).ConfigureAwait(false);
        else
        {
            if (GithubCredentials.Given(spec)) LogNoHookUrl(ctx.Logger, ctx.Namespace, ctx.SourceName, ctx.EventName);
            ctx.Status.Listening(target);
            await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>
    /// Every replica serves deliveries, but one at a time keeps the hooks: two registrars would both find no hook and
    /// both create one. The holder of the lease registers; losing it stops registering without deleting anything.
    /// </summary>
    private async Task KeepHooksAsync(ListenerContext ctx, string target, CancellationToken ct)
    {
        using var work = new EventGateway.Workflows.Replicas.ExclusiveWork(ctx.Ownership, $"eventsource/{ctx.Namespace}/{ctx.SourceName}/github/{ctx.EventName}/hooks");
        while (!ct.IsCancellationRequested)
        {
            if (!work.Claim.Held) ctx.Status.Listening(target);
            CancellationToken held;
            try { held = await work.WaitHeldAsync(ct).ConfigureAwait(false); }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
            try
            {
                await new GithubHookRegistrar(spec, ctx).MaintainAsync(target, ct, held).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (held.IsCancellationRequested && !ct.IsCancellationRequested) { }
        }
    }

    private async Task HandleAsync(HttpContext http, ListenerContext ctx, WebhookEndpoint endpoint, bool allowSha1)
    {
        await endpoint.CheckAsync(http, ctx).ConfigureAwait(false);
        var raw = await WebhookRequest.ReadBodyAsync(http.Request, endpoint.MaxPayload, http.RequestAborted).ConfigureAwait(false);
        // Authenticate before looking inside: an unsigned body is not parsed at all.
        await GithubSignature.VerifyAsync(http.Request, raw, ctx, spec.WebhookSecret, allowSha1).ConfigureAwait(false);
        var json = GithubPayload.Extract(http.Request.ContentType, raw);
        var id = GithubPayload.DeliveryId(http.Request.Headers) ?? Guid.CreateVersion7().ToString();
        var data = GithubPayload.EventData(http.Request.Headers, json, spec.Metadata);

        if (EventFilter.Check(spec.Filter?.Expression, data.WrittenSpan) is { } why)
        {
            ctx.Status.Reject("filtered");
            await WebhookReplies.Reply(http, StatusCodes.Status200OK, $"event not published: {why}").ConfigureAwait(false);
            return;
        }
        // The sender's trace is continued only once the signature (or bearer token) was verified above.
        var caller = spec.WebhookSecret is not null || endpoint.Authenticates ? CallerTrace.From(http.Request.Headers) : default;
        await ctx.PublishAsync(id, data.WrittenMemory, ct: http.RequestAborted, caller: caller).ConfigureAwait(false);
        await WebhookReplies.Success(http).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "github {Namespace}/{Source}/{Event}: apiToken or githubApp is set but webhook.url is empty; hooks are not registered")]
    private static partial void LogNoHookUrl(ILogger log, string @namespace, string source, string @event);
}
