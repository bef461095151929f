namespace EventGateway.Model;

/// <summary>
/// Argo Events <c>TriggerParameter</c>: take a value from an event (or a default) and write it into the
/// trigger's resource or payload at <see cref="Dest"/>.
/// </summary>
public sealed class TriggerParameter
{
    public TriggerParameterSource? Src { get; set; }
    /// <summary>sjson-style path in the target, e.g. <c>spec.arguments.parameters.0.value</c>; <c>-1</c> appends.</summary>
    public string? Dest { get; set; }
    /// <summary>overwrite (default), append or prepend.</summary>
    public string? Operation { get; set; }
}

public sealed class TriggerParameterSource
{
    public string? DependencyName { get; set; }
    public string? ContextKey { get; set; }
    public string? ContextTemplate { get; set; }
    public string? DataKey { get; set; }
    public string? DataTemplate { get; set; }
    public string? Value { get; set; }
    public bool? UseRawData { get; set; }
}
