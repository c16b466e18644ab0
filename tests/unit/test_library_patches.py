"""The changes to aiortc and aioice are the app's to make, explicitly, at start: importing changes nothing."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_patches_changes_nothing_until_apply() -> None:
    probe = (
        "import aioice.ice, aiortc.rtcsctptransport, aiortc.rtp\n"
        "before = (aiortc.rtp.compute_audio_level_dbov, aioice.ice.StunProtocol.datagram_received,\n"
        "          aiortc.rtcsctptransport.RTCSctpTransport._data_channel_receive, aioice.ice.get_host_addresses)\n"
        "from adapters import library_patches\n"
        "after_import = (aiortc.rtp.compute_audio_level_dbov, aioice.ice.StunProtocol.datagram_received,\n"
        "          aiortc.rtcsctptransport.RTCSctpTransport._data_channel_receive, aioice.ice.get_host_addresses)\n"
        "assert after_import == before, 'importing patched a library'\n"
        "library_patches.apply(('127.0.0.1',))\n"
        "assert aiortc.rtp.compute_audio_level_dbov is library_patches.audio_level_dbov\n"
        "assert aioice.ice.StunProtocol.datagram_received is library_patches.guarded_datagram_received\n"
        "assert aioice.ice.get_host_addresses(True, False) == ['127.0.0.1']\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
