using EventGateway.Languages.GoTemplates;

namespace EventGateway.Events.Sensors.Filters;

/// <summary>
/// A data filter's <c>template</c>: Go text/template with sprig, executed with <c>.Input</c> bound to the
/// value found at the filter's path as a string (as Argo does), before the comparison.
/// </summary>
internal static class DataTemplate
{
    /// <summary>Why the template cannot be parsed, or null when it can (for validation at load).</summary>
    public static string? Unsupported(string template)
    {
        try
        {
            GoTemplate.Parse(template);
            return null;
        }
        catch (GoTemplateException e)
        {
            return $"template {Show.Quote(template)} does not parse: {e.Message}";
        }
    }

    public static bool TryRender(string template, string input, out string output, out string error)
    {
        output = string.Empty;
        try
        {
            output = GoTemplate.Parse(template).Render(new Dictionary<string, object?> { ["Input"] = input });
        }
        catch (GoTemplateException e)
        {
            error = $"template {Show.Quote(template)} failed: {e.Message}";
            return false;
        }
        if (output.Length == 0 || output == "<no value>")
        {
            error = $"template '{template}' evaluated to empty string or no value";
            return false;
        }
        error = string.Empty;
        return true;
    }
}
