from django.apps import AppConfig

from modelcvd.core.status import status_count_register


class CasesConfig(AppConfig):
    name = "modelcvd.cases"
    label = "cases"
    verbose_name = "Cases"

    def ready(self) -> None:
        case = self.get_model("Case")
        status_count_register("cases", lambda: case._default_manager.count())
