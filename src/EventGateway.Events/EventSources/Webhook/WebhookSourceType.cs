using EventGateway.Model;
using static EventGateway.Events.EventSources.EventSettingsChecks;

namespace EventGateway.Events.EventSources.Webhook;

/// <summary>Argo's <c>webhook</c> source type: an HTTP endpoint whose requests are the events.</summary>
public sealed class WebhookSourceType() : EventSourceType<WebhookEventSource>("webhook")
{
    public static WebhookSourceType Instance { get; } = new();

    protected override Dictionary<string, WebhookEventSource>? EventsOf(EventSourceSpec spec) => spec.Webhook;

    public override void Validate(string at, WebhookEventSource settings, Action<string, string> fail)
    {
        ValidateWebhookContext(at, settings.Context, fail);
        ValidateFilter(at, settings.Filter, fail);
    }

    public override IEventListener Listen(WebhookEventSource settings) => new WebhookListener(settings);
}
