using System.Text;
using System.Text.RegularExpressions;

namespace EventGateway.Sensors.Filters;

/// <summary>
/// The part of Go text/template that data-filter <c>template</c> fields can use today: literal text and
/// <c>{{ .Input }}</c> actions (with <c>{{-</c>/<c>-}}</c> trimming). Sprig functions and pipelines are not
/// supported yet; <see cref="Unsupported"/> lets validation reject them at load instead of at every event.
/// </summary>
internal static partial class DataTemplate
{
    [GeneratedRegex(@"\{\{(?<ltrim>- )?\s*\.Input\s*(?<rtrim> -)?\}\}", RegexOptions.CultureInvariant)]
    private static partial Regex InputAction();

    /// <summary>Why the template cannot be rendered here, or null when it can.</summary>
    public static string? Unsupported(string template)
    {
        var rest = InputAction().Replace(template, string.Empty);
        return rest.Contains("{{", StringComparison.Ordinal)
            ? $"template {Show.Quote(template)} uses Go template features other than {{{{ .Input }}}}, which are not supported yet"
            : null;
    }

    public static bool TryRender(string template, string input, out string output, out string error)
    {
        output = string.Empty;
        if (Unsupported(template) is { } reason)
        {
            error = reason;
            return false;
        }

        var sb = new StringBuilder();
        var copied = 0;
        foreach (Match m in InputAction().Matches(template))
        {
            var text = template[copied..m.Index];
            sb.Append(m.Groups["ltrim"].Success ? text.TrimEnd() : text);
            sb.Append(input);
            copied = m.Index + m.Length;
            if (m.Groups["rtrim"].Success)
            {
                while (copied < template.Length && char.IsWhiteSpace(template[copied]))
                {
                    copied++;
                }
            }
        }

        sb.Append(template[copied..]);
        output = sb.ToString();
        if (output.Length == 0 || output == "<no value>")
        {
            error = $"template '{template}' evaluated to empty string or no value";
            return false;
        }

        error = string.Empty;
        return true;
    }
}
