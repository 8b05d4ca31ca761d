"""The instructor's tools: grading in a sandbox, releases, student notebooks, the hub kernel.

Nothing here is part of a lesson, so none of it is in the student's namespace (``dir(vc)``);
``python -m vgg_course <command>`` reaches it, and code imports it by name
(``from vgg_course.instructor import grading``), as nbgrader keeps its converters apart from
the notebook API. The sandboxed side (``probing``) ships in the student wheel too, since the
grader runs it there; the solutions and hidden cases (``vgg_course.exercises.instructor``)
never do.
"""
