using EventGateway.Model;

namespace EventGateway.Workflows.Controller;

public sealed partial class WorkflowOperator
{
    /// <summary>The ConfigMaps this workflow's parameters name (<see cref="ParameterConfigMaps"/>), read by the controller before the pass.</summary>
    public IReadOnlyDictionary<string, ConfigMap> ConfigMaps { get; set; } = ParameterConfigMaps.None;

    /// <summary>
    /// A parameter's value from <c>valueFrom.configMapKeyRef</c> (name and key may be tags over the globals), its
    /// <c>valueFrom.default</c> when the ConfigMap or key is missing, or the reason it has none.
    /// </summary>
    private (string? Value, string? Error) ConfigMapParameter(ValueFrom from, VariableScope globals, bool acceptAnyErrorForDefault)
    {
        var r = from.ConfigMapKeyRef!;
        var (name, key) = (globals.Render(r.Name ?? ""), globals.Render(r.Key ?? ""));
        var (value, error, notFound) = ParameterConfigMaps.Value(ConfigMaps, name, key);
        if (error is null) return (value, null);
        return from.Default is { } fallback && (notFound || acceptAnyErrorForDefault) ? (fallback, null) : (null, error);
    }
}
