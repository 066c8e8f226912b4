using System.Globalization;
using System.Net;
using System.Text;

namespace Tosc.Benchmarks.Harness;

/// <summary>A small log-log line chart written as SVG by hand (no plotting package needed).</summary>
internal static class Svg
{
    private static readonly string[] s_colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];

    /// <param name="series">Name, whether dashed, and (x, y) points with positive coordinates.</param>
    public static string LogLogChart(string title, string xLabel, string yLabel, IReadOnlyList<(string Name, bool Dashed, IReadOnlyList<(double X, double Y)> Points)> series, Func<double, string> xTick)
    {
        const double width = 720, height = 440, left = 70, right = 170, top = 40, bottom = 55;
        var points = series.SelectMany(s => s.Points).Where(p => p.X > 0 && p.Y > 0).ToList();
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        svg.Append(CultureInfo.InvariantCulture, $"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{width / 2}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{Escape(title)}</text>\n");
        if (points.Count == 0)
            return svg.Append("<text x=\"50\" y=\"100\">no data</text>\n</svg>\n").ToString();

        var xMin = Math.Floor(Math.Log10(points.Min(p => p.X)));
        var xMax = Math.Ceiling(Math.Log10(points.Max(p => p.X)));
        var yMin = Math.Floor(Math.Log10(points.Min(p => p.Y)));
        var yMax = Math.Ceiling(Math.Log10(points.Max(p => p.Y)));
        if (xMax == xMin)
            xMax++;
        if (yMax == yMin)
            yMax++;
        double Px(double x) => left + ((Math.Log10(x) - xMin) / (xMax - xMin) * (width - left - right));
        double Py(double y) => height - bottom - ((Math.Log10(y) - yMin) / (yMax - yMin) * (height - top - bottom));

        // Grid and ticks at powers of ten.
        for (var e = xMin; e <= xMax; e++)
        {
            var x = Px(Math.Pow(10, e));
            svg.Append(F($"<line x1=\"{x}\" y1=\"{top}\" x2=\"{x}\" y2=\"{height - bottom}\" stroke=\"#ddd\"/>\n"));
            svg.Append(F($"<text x=\"{x}\" y=\"{height - bottom + 18}\" text-anchor=\"middle\">{Escape(xTick(Math.Pow(10, e)))}</text>\n"));
        }
        for (var e = yMin; e <= yMax; e++)
        {
            var y = Py(Math.Pow(10, e));
            svg.Append(F($"<line x1=\"{left}\" y1=\"{y}\" x2=\"{width - right}\" y2=\"{y}\" stroke=\"#ddd\"/>\n"));
            svg.Append(F($"<text x=\"{left - 8}\" y=\"{y + 4}\" text-anchor=\"end\">{Escape(Math.Pow(10, e).ToString("G", CultureInfo.InvariantCulture))}</text>\n"));
        }
        svg.Append(F($"<rect x=\"{left}\" y=\"{top}\" width=\"{width - left - right}\" height=\"{height - top - bottom}\" fill=\"none\" stroke=\"#333\"/>\n"));
        svg.Append(F($"<text x=\"{left + ((width - left - right) / 2)}\" y=\"{height - 15}\" text-anchor=\"middle\">{Escape(xLabel)}</text>\n"));
        svg.Append(F($"<text transform=\"translate(18 {top + ((height - top - bottom) / 2)}) rotate(-90)\" text-anchor=\"middle\">{Escape(yLabel)}</text>\n"));

        var colorIndex = new Dictionary<string, int>();
        for (var i = 0; i < series.Count; i++)
        {
            var (name, dashed, data) = series[i];
            var family = name.Split(' ')[0];
            if (!colorIndex.TryGetValue(family, out var c))
                colorIndex[family] = c = colorIndex.Count;
            var color = s_colors[c % s_colors.Length];
            var valid = data.Where(p => p.X > 0 && p.Y > 0).OrderBy(p => p.X).ToList();
            if (valid.Count == 0)
                continue;
            var path = string.Join(" ", valid.Select(p => F($"{Px(p.X):0.#},{Py(p.Y):0.#}")));
            svg.Append(F($"<polyline points=\"{path}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"{(dashed ? " stroke-dasharray=\"6 4\"" : "")}/>\n"));
            foreach (var p in valid)
                svg.Append(F($"<circle cx=\"{Px(p.X):0.#}\" cy=\"{Py(p.Y):0.#}\" r=\"3\" fill=\"{color}\"/>\n"));
            var ly = top + 10 + (i * 18);
            svg.Append(F($"<line x1=\"{width - right + 12}\" y1=\"{ly}\" x2=\"{width - right + 40}\" y2=\"{ly}\" stroke=\"{color}\" stroke-width=\"2\"{(dashed ? " stroke-dasharray=\"6 4\"" : "")}/>\n"));
            svg.Append(F($"<text x=\"{width - right + 46}\" y=\"{ly + 4}\">{Escape(name)}</text>\n"));
        }
        return svg.Append("</svg>\n").ToString();
    }

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static string Escape(string text) => WebUtility.HtmlEncode(text);
}
