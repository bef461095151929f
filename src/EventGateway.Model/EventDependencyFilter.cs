namespace EventGateway.Model;

/// <summary>
/// <c>spec.dependencies[].filters</c> of an Argo Events Sensor, shaped like Argo's YAML so it deserializes
/// with camelCase System.Text.Json. <c>filtersLogicalOperator</c> sits on the dependency, not here.
/// </summary>
public sealed class EventDependencyFilter
{
    public TimeFilter? Time { get; set; }

    public EventContextFilter? Context { get; set; }

    public List<DataFilter>? Data { get; set; }

    public List<ExprFilter>? Exprs { get; set; }

    /// <summary><c>and</c> (default when empty) or <c>or</c>.</summary>
    public string? DataLogicalOperator { get; set; }

    /// <summary><c>and</c> (default when empty) or <c>or</c>.</summary>
    public string? ExprLogicalOperator { get; set; }

    /// <summary>Lua script run with the event data as the global <c>event</c>; passes only when it returns true.</summary>
    public string? Script { get; set; }
}

/// <summary>A daily window <c>[start, stop)</c> in <c>hh:mm:ss</c>; <c>stop &lt;= start</c> wraps past midnight.</summary>
public sealed class TimeFilter
{
    public string? Start { get; set; }

    public string? Stop { get; set; }

    /// <summary>IANA name (newer Argo releases); empty means the evaluator's default zone, UTC unless told otherwise.</summary>
    public string? Timezone { get; set; }
}

/// <summary>
/// Argo's EventContext. Only <c>type</c>, <c>subject</c>, <c>source</c> and <c>datacontenttype</c> take part in
/// filtering (each only when non-empty); Argo ignores <c>id</c>, <c>specversion</c> and <c>time</c> here.
/// </summary>
public sealed class EventContextFilter
{
    public string? Id { get; set; }

    public string? Source { get; set; }

    [System.Text.Json.Serialization.JsonPropertyName("specversion")] public string? SpecVersion { get; set; }

    public string? Type { get; set; }

    public string? Subject { get; set; }

    public string? Time { get; set; }

    [System.Text.Json.Serialization.JsonPropertyName("datacontenttype")] public string? DataContentType { get; set; }
}

public sealed class DataFilter
{
    /// <summary>gjson path into the event data.</summary>
    public string? Path { get; set; }

    /// <summary><c>string</c>, <c>number</c> or <c>bool</c>.</summary>
    public string? Type { get; set; }

    /// <summary>Accepted values, OR-ed; for strings each is an unanchored regular expression.</summary>
    public List<string>? Value { get; set; }

    /// <summary><c>&gt;= &gt; = != &lt; &lt;=</c>; empty means <c>=</c>. Strings know only <c>=</c> and <c>!=</c>.</summary>
    public string? Comparator { get; set; }

    /// <summary>Go template applied to the value (as <c>.Input</c>) before comparing.</summary>
    public string? Template { get; set; }
}

public sealed class ExprFilter
{
    /// <summary>govaluate expression over the field names.</summary>
    public string? Expr { get; set; }

    public List<PayloadField>? Fields { get; set; }
}

public sealed class PayloadField
{
    public string? Path { get; set; }

    public string? Name { get; set; }
}
