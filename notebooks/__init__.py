"""The lessons, shipped inside the kit as the package ``vgg_course.lessons`` (see pyproject.toml).

This folder is installed as ``vgg_course/lessons/``: the lesson notebooks, ``student/`` and
``sanitize.cfg``. ``vc.workspace.lessons_folder()`` finds it in an editable install (here)
and in an installed wheel alike; ``python -m vgg_course lessons DEST`` copies it out.
"""
