using EventGateway.Languages.Expr;

namespace EventGateway.Events.EventSources;

/// <summary>
/// An EventSource's <c>filter.expression</c>: expr-lang over the event's data (<c>body.x</c>,
/// <c>header["X-Foo"]</c>, ...). An event the filter rejects is not published; an expression that
/// fails to evaluate rejects the event and says why.
/// </summary>
public static class EventFilter
{
    /// <returns>null when the event passes, else the reason it does not.</returns>
    public static string? Check(string? expression, ReadOnlySpan<byte> dataJson)
    {
        if (string.IsNullOrWhiteSpace(expression)) return null;
        object? data;
        try { data = ArgoExpression.FromJson(System.Text.Encoding.UTF8.GetString(dataJson)); }
        catch (Exception e) when (e is System.Text.Json.JsonException or ExpressionException) { return $"filter: event data is not JSON: {e.Message}"; }
        if (data is not IReadOnlyDictionary<string, object?> env) return "filter: event data is not a JSON object";
        try
        {
            return ArgoExpression.Evaluate(expression, env) is true ? null : $"filter: '{expression}' is false";
        }
        catch (ExpressionException e)
        {
            return $"filter: '{expression}' failed: {e.Message}";
        }
    }

    /// <returns>null when the expression parses, else why not (for validation at load).</returns>
    public static string? Validate(string expression)
    {
        try
        {
            ArgoExpression.Check(expression);
            return null;
        }
        catch (ExpressionException e)
        {
            return e.Reason;
        }
    }
}
