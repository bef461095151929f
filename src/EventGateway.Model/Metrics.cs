namespace EventGateway.Model;

/// <summary>Argo's <c>metrics</c> of a workflow spec or a template: custom Prometheus metrics it emits.</summary>
public sealed class Metrics
{
    public List<PrometheusMetric>? Prometheus { get; set; }
}

/// <summary>
/// One custom metric: a name and labels (its series), help, an optional <c>when</c>, and exactly one of gauge, counter
/// or histogram whose value is a tag such as <c>{{duration}}</c>, rendered when its template or workflow completes.
/// </summary>
public sealed class PrometheusMetric
{
    public string? Name { get; set; }
    public List<MetricLabel>? Labels { get; set; }
    public string? Help { get; set; }
    public string? When { get; set; }
    public GaugeMetric? Gauge { get; set; }
    public HistogramMetric? Histogram { get; set; }
    public CounterMetric? Counter { get; set; }

    /// <summary>A realtime gauge follows a duration while its template or workflow runs instead of being set once.</summary>
    public bool IsRealtime => Gauge?.Realtime == true;

    public string? Type => Gauge is not null ? "gauge" : Counter is not null ? "counter" : Histogram is not null ? "histogram" : null;

    public string? Value => Gauge?.Value ?? Counter?.Value ?? Histogram?.Value;
}

public sealed class MetricLabel
{
    public string? Key { get; set; }
    public string? Value { get; set; }
}

public sealed class GaugeMetric
{
    public string? Value { get; set; }
    public bool? Realtime { get; set; }
    /// <summary>Set (default), Add or Sub: how the value combines with the gauge's current one.</summary>
    public string? Operation { get; set; }
}

public sealed class HistogramMetric
{
    public string? Value { get; set; }
    /// <summary>Upper bounds; read as text (Argo's Amount) and checked to be numbers.</summary>
    public List<string>? Buckets { get; set; }
}

public sealed class CounterMetric
{
    public string? Value { get; set; }
}
