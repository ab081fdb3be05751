"""Wheel tagging: the package is pure Python but carries libnycache.so, so
its wheel is tagged for the platform (``py3-none-linux_x86_64``) rather than
``any``; it works with every Python 3 because it loads the library through
ctypes, not the C API of one interpreter."""

from setuptools import Distribution, setup
from setuptools.command.bdist_wheel import bdist_wheel


class BinaryDistribution(Distribution):
    """Carries a shared library: installed as platform code."""

    def has_ext_modules(self) -> bool:
        return True


class PlatformWheel(bdist_wheel):
    def get_tag(self) -> tuple[str, str, str]:
        _, _, platform = super().get_tag()
        return "py3", "none", platform


setup(distclass=BinaryDistribution, cmdclass={"bdist_wheel": PlatformWheel})
