import subprocess
import sys


def test_importing_the_service_does_not_import_torch_or_the_renderer():
    """Cogs import engine.service; torch belongs in the model process and the synth in the render workers."""
    code = "import sys, engine.service; print(sorted(m for m in ('torch', 'engine.render', 'fluidsynth', 'discord') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
