using EventGateway.Events.EventSources;
using EventGateway.Workflows.Telemetry;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace EventGateway.Server.Telemetry;

/// <summary>
/// <c>egw serve --otlp-endpoint URL</c>: the OpenTelemetry SDK listens to the service's ActivitySources (listeners,
/// sensors, controller) and exports their spans over OTLP/HTTP protobuf, batched. Without the flag no SDK is built, no
/// one listens, and every span site returns at its <c>HasListeners()</c> check. Stopping the service flushes what is left.
/// </summary>
public sealed class OtlpTracing(string endpoint) : IHostedService, IDisposable
{
    public const string ServiceName = "eventgateway";

    /// <summary>Every source the service's spans come from.</summary>
    public static readonly string[] Sources = [ListenerContext.ActivitySourceName, Events.Sensors.SensorTracing.SourceName, WorkflowTracing.SourceName];

    private TracerProvider? _provider;

    /// <summary>The traces URL of a collector: http(s)://HOST:PORT gets OTLP/HTTP's <c>/v1/traces</c>; a URL with a path is taken as it is.</summary>
    /// <exception cref="ArgumentException">not an http(s) URL.</exception>
    public static Uri Endpoint(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https") || u.Host.Length == 0)
            throw new ArgumentException($"--otlp-endpoint '{url}' is not an http(s) URL: expected the OTLP/HTTP address of a collector, e.g. http://127.0.0.1:4318");
        return u.AbsolutePath is "" or "/" ? new Uri(u, "/v1/traces") : u;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _provider = Sdk.CreateTracerProviderBuilder()
            .AddSource(Sources)
            .ConfigureResource(r => r.AddService(ServiceName, serviceVersion: typeof(OtlpTracing).Assembly.GetName().Version?.ToString()))
            .AddOtlpExporter(o =>
            {
                o.Endpoint = Endpoint(endpoint);
                o.Protocol = OtlpExportProtocol.HttpProtobuf;
                o.BatchExportProcessorOptions.ScheduledDelayMilliseconds = 1000;
            })
            .Build();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _provider?.ForceFlush(5_000);
        return Task.CompletedTask;
    }

    public void Dispose() => _provider?.Dispose();
}
